package defaults

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// AnnotationDefaulted names the containers and resources Tollgate set, e.g.
// "cpu, memory request for container app; cpu limit for init container setup".
const AnnotationDefaulted = "tollgate.dev/defaulted"

// Profile is a cluster-wide set of LimitRange-shaped defaults, already
// selected for the Pod's namespace (selection happens in pkg/config).
// Unlike a LimitRange it is taken as written: max and min are bounds only.
type Profile struct {
	Name   string                  `json:"name"`
	Limits []corev1.LimitRangeItem `json:"limits"`
}

// Inputs are the sources of defaults and limits for one Pod, in precedence
// order: the namespace's LimitRanges first (taken in name order, raw or as
// stored), then the matching profiles in the order given.
type Inputs struct {
	LimitRanges []corev1.LimitRange
	Profiles    []Profile
}

// Result tells what Apply changed.
type Result struct {
	// Changed is false when Apply left the Pod untouched.
	Changed bool
	// Warnings are shown to the user as admission warnings: a default limit
	// below the container's request, raised (profile) or left for the API
	// server to reject (LimitRange); two LimitRanges that disagree.
	Warnings []verdict.Warning
}

// Warning codes of Apply. Each warning names the resource as "limits.<name>"
// or "requests.<name>".
const (
	// CodeLimitBelowRequest: a LimitRange's default limit is below the
	// container's request; the API server will reject the Pod.
	CodeLimitBelowRequest = "defaults.limit-below-request"
	// CodeLimitRaised: a profile's default limit was below the request and
	// was raised to it.
	CodeLimitRaised = "defaults.limit-raised"
	// CodeConflict: two LimitRanges set different defaults for one resource.
	CodeConflict = "defaults.conflict"
)

// Verdict is the result as a verdict: its warnings (defaults never deny).
func (r Result) Verdict() verdict.Verdict { return verdict.Verdict{Warnings: r.Warnings} }
