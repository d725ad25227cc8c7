package defaults

import (
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// source is one object that supplies defaults and bounds: a LimitRange or a
// profile. Its label prefixes every message so users know what to edit.
type source struct {
	// label is `LimitRange "name"` or `profile "name"`.
	label string
	// profile is true for a Tollgate profile, false for a LimitRange.
	profile bool
	// items are the LimitRangeItems, after LimitRange defaulting for
	// LimitRanges (see defaultedItem) and as written for profiles.
	items []corev1.LimitRangeItem
}

// sources lists the sources in precedence order: LimitRanges sorted by
// name, then profiles in the order given.
//
// Upstream applies LimitRanges in lister order, which is undefined (the docs
// call the winner "not deterministic"). Sorting by name gives the same
// answer on every replica and in `tollgate eval`.
func sources(in Inputs) []source {
	lrs := make([]corev1.LimitRange, len(in.LimitRanges))
	copy(lrs, in.LimitRanges)
	sort.SliceStable(lrs, func(i, j int) bool { return lrs[i].Name < lrs[j].Name })

	out := make([]source, 0, len(lrs)+len(in.Profiles))
	for _, lr := range lrs {
		items := make([]corev1.LimitRangeItem, 0, len(lr.Spec.Limits))
		for _, it := range lr.Spec.Limits {
			items = append(items, defaultedItem(it))
		}
		out = append(out, source{label: fmt.Sprintf("LimitRange %q", lr.Name), items: items})
	}
	for _, p := range in.Profiles {
		out = append(out, source{label: fmt.Sprintf("profile %q", p.Name), profile: true, items: p.Limits})
	}
	return out
}

// defaultedItem returns a copy of it with the API server's own LimitRange
// defaulting applied, so a LimitRange given raw (a fixture, `tollgate eval`)
// behaves like the stored object the informer serves. For Container items,
// in this order: a missing default limit comes from max, a missing default
// request from the default limit, and a still missing default request from
// min. The rule only fills missing keys, so an object that was already
// defaulted comes back unchanged.
func defaultedItem(it corev1.LimitRangeItem) corev1.LimitRangeItem {
	out := *it.DeepCopy()
	if out.Type != corev1.LimitTypeContainer {
		return out
	}
	out.Default = fillMissing(out.Default, out.Max)
	out.DefaultRequest = fillMissing(out.DefaultRequest, out.Default)
	out.DefaultRequest = fillMissing(out.DefaultRequest, out.Min)
	return out
}

// fillMissing copies into dst every key of from that dst lacks and returns dst.
func fillMissing(dst, from corev1.ResourceList) corev1.ResourceList {
	fillList(&dst, from)
	return dst
}

// containerDefaults merges the default limits and default requests of the
// Container items of s. A second Container item in one source (invalid in a
// stored LimitRange) only fills keys the first left open.
func (s source) containerDefaults() (limits, requests corev1.ResourceList) {
	for _, it := range s.items {
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		limits = fillMissing(limits, it.Default)
		requests = fillMissing(requests, it.DefaultRequest)
	}
	return limits, requests
}

// sortedNames returns the keys of l in lexical order, so every loop over a
// ResourceList gives the same messages in the same order.
func sortedNames[M ~map[corev1.ResourceName]V, V any](l M) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(l))
	for name := range l {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
