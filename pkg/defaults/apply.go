package defaults

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Apply fills missing requests and limits in pod (in place) and records what
// it set in the AnnotationDefaulted annotation. Applying it to its own output
// changes nothing. Without any LimitRange or profile it does nothing at all.
//
// Per container (and init container), in order:
//  1. API defaulting: a limit without a request gives request = limit.
//  2. Each source in precedence order fills the keys still missing: default
//     limits first, then default requests. The first source wins per key.
//  3. A limit a profile set is raised to the container's request when it
//     would be lower (or made equal to it for hugepages and extended
//     resources), with a warning. A LimitRange's limit is left as upstream
//     leaves it, with a warning that the API server will reject the Pod.
//  4. API defaulting again, as the API server re-defaults a patched Pod.
func Apply(pod *corev1.Pod, in Inputs) Result {
	srcs := sources(in)
	if pod == nil || len(srcs) == 0 {
		return Result{}
	}
	var res Result
	ctrs := containersOf(pod)
	wrote := make([]bool, len(ctrs))
	for i, r := range ctrs {
		wrote[i] = len(requestsFromLimits(r.c)) > 0
	}
	lims, reqs := make([]sortedList, len(srcs)), make([]sortedList, len(srcs))
	for j, s := range srcs {
		l, r := s.containerDefaults()
		lims[j], reqs[j] = sortedList{l, sortedNames(l)}, sortedList{r, sortedNames(r)}
	}
	set := make([]setOn, len(ctrs))
	for i, r := range ctrs {
		var origin map[corev1.ResourceName]source
		for j, s := range srcs {
			for _, name := range fillSorted(&r.c.Resources.Limits, lims[j]) {
				if origin == nil {
					origin = map[corev1.ResourceName]source{}
				}
				origin[name] = s
				set[i].limits = append(set[i].limits, name)
			}
			set[i].requests = append(set[i].requests, fillSorted(&r.c.Resources.Requests, reqs[j])...)
		}
		res.Warnings = append(res.Warnings, reconcile(r, origin)...)
		set[i].requests = append(set[i].requests, requestsFromLimits(r.c)...)
		if len(set[i].requests)+len(set[i].limits) > 0 {
			wrote[i] = true
		}
	}
	res.Warnings = append(res.Warnings, conflictWarnings(pod, srcs, set)...)
	annotated := recordDefaulted(pod, ctrs, set)
	res.Changed = annotated || slices.Contains(wrote, true)
	return res
}

// setOn lists the resource names Apply set on one container.
type setOn struct {
	requests, limits []corev1.ResourceName
}

// fillList copies into *dst every key of defaults that *dst lacks, in name
// order, and returns the names it copied. Presence counts, not the value:
// an explicit 0 is kept, as upstream keeps it.
func fillList(dst *corev1.ResourceList, defaults corev1.ResourceList) []corev1.ResourceName {
	if len(defaults) == 0 {
		return nil
	}
	return fillSorted(dst, sortedList{defaults, sortedNames(defaults)})
}

// sortedList is a ResourceList with its names in lexical order, sorted
// once for all the containers it is copied into.
type sortedList struct {
	list  corev1.ResourceList
	names []corev1.ResourceName
}

// fillSorted is fillList over a list whose names are sorted already. The
// values are deep copies: a source's quantities are shared (see source).
func fillSorted(dst *corev1.ResourceList, defaults sortedList) []corev1.ResourceName {
	var filled []corev1.ResourceName
	for _, name := range defaults.names {
		if _, ok := (*dst)[name]; ok {
			continue
		}
		if *dst == nil {
			*dst = corev1.ResourceList{}
		}
		(*dst)[name] = defaults.list[name].DeepCopy()
		filled = append(filled, name)
	}
	return filled
}

// reconcile looks at every limit a source just set on r and compares it
// with the container's request (kubernetes#51430: a default limit below an
// explicit request makes the API server reject the Pod with 422).
//
// For a LimitRange it keeps upstream behaviour exactly: the in-tree
// LimitRanger sets the default limit without clamping (PR #98295, which
// would have skipped it, was closed unmerged), and the API server then
// rejects the Pod. We only warn, so the user learns why.
//
// For a profile, which is ours, the limit never ends up invalid: it is
// raised to the request, or, for resources that cannot be overcommitted,
// set equal to it.
func reconcile(r ctrRef, origin map[corev1.ResourceName]source) []verdict.Warning {
	var warnings []verdict.Warning
	for _, name := range sortedNames(origin) {
		s := origin[name]
		lim := r.c.Resources.Limits[name]
		req, ok := r.c.Resources.Requests[name]
		if !ok || limitFits(name, req, lim) {
			continue
		}
		res := []string{"limits." + string(name)}
		if !s.profile {
			warnings = append(warnings, verdict.Warning{Code: CodeLimitBelowRequest, Resources: res, Message: fmt.Sprintf(
				"%s: %s %s; the API server will reject this Pod", r.who(), s.label(), mismatch(name, lim, req))})
			continue
		}
		warnings = append(warnings, verdict.Warning{Code: CodeLimitRaised, Resources: res, Message: fmt.Sprintf(
			"%s: %s %s; limit set to %s", r.who(), s.label(), mismatch(name, lim, req), req.String())})
		r.c.Resources.Limits[name] = req.DeepCopy()
	}
	return warnings
}

// limitFits reports whether the API server accepts request req with limit
// lim: req ≤ lim, and req = lim where overcommit is not allowed.
func limitFits(name corev1.ResourceName, req, lim resource.Quantity) bool {
	if overcommittable(name) {
		return req.Cmp(lim) <= 0
	}
	return req.Cmp(lim) == 0
}

// mismatch words how a default limit fails limitFits.
func mismatch(name corev1.ResourceName, lim, req resource.Quantity) string {
	if overcommittable(name) {
		return fmt.Sprintf("default limit %s %s is below the request %s", name, lim.String(), req.String())
	}
	return fmt.Sprintf("default limit %s %s differs from the request %s, and %s requests must equal limits",
		name, lim.String(), req.String(), name)
}
