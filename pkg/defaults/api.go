package defaults

import (
	corev1 "k8s.io/api/core/v1"
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
	// server to reject (LimitRange).
	Warnings []string
	// Wrote tells exactly where Apply wrote; Changed is true when it wrote
	// anywhere. pipeline.PatchWritten trusts it instead of comparing the
	// whole Pod, so TestApplyWritesOnlyWhatItReports holds Apply to it.
	Wrote Written
}

// Written is every field of a Pod Apply wrote. Apply writes nothing else:
// no other field of the Pod, and no other container's resources.
type Written struct {
	// Annotation is true when Apply set AnnotationDefaulted (creating the
	// annotations map when the Pod had none).
	Annotation bool
	// Containers and InitContainers are the indices, ascending, of the
	// spec.containers and spec.initContainers whose resources (requests or
	// limits) Apply wrote.
	Containers, InitContainers []int
}
