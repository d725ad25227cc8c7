package defaults

import (
	corev1 "k8s.io/api/core/v1"
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
