package defaults

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// AnnotationDefaulted names the containers and resources Tollgate set.
const AnnotationDefaulted = "tollgate.dev/defaulted"

// Profile is a cluster-wide set of LimitRange-shaped defaults, already
// selected for the Pod's namespace (selection happens in pkg/config).
type Profile struct {
	Name   string                  `json:"name"`
	Limits []corev1.LimitRangeItem `json:"limits"`
}

// Inputs are the sources of defaults and limits for one Pod, in precedence
// order: the namespace's LimitRanges first, then the matching profiles.
type Inputs struct {
	LimitRanges []corev1.LimitRange
	Profiles    []Profile
}

// Result tells what Apply changed.
type Result struct {
	// Changed is false when Apply left the Pod untouched.
	Changed bool
	// Warnings are shown to the user as admission warnings.
	Warnings []string
}

// Apply fills missing requests and limits in pod (in place) and records what
// it set in the AnnotationDefaulted annotation. Applying it to its own output
// changes nothing.
func Apply(pod *corev1.Pod, in Inputs) Result {
	return Result{} // TODO(defaults helper): implement
}

// Validate checks min, max and maxLimitRequestRatio of every Container and
// Pod item of every source and returns one reason per violation.
func Validate(pod *corev1.Pod, in Inputs) verdict.Verdict {
	return verdict.Verdict{} // TODO(defaults helper): implement
}
