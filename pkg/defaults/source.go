package defaults

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// source is one object that supplies defaults and bounds: a LimitRange or a
// profile. Its label prefixes every message so users know what to edit.
//
// A source shares its items' maps and quantities with Inputs, which in the
// webhook are the informer's stored objects, read by every request at once:
// nothing may write into them, nor call a mutating method (Add, Sub, Neg,
// RoundUp, ...) on a quantity read from them, since a copied Quantity still
// shares its *inf.Dec. Values move into a Pod only through DeepCopy.
type source struct {
	// name is the LimitRange's or profile's name.
	name string
	// profile is true for a Tollgate profile, false for a LimitRange.
	profile bool
	// items are the LimitRangeItems, after LimitRange defaulting for
	// LimitRanges (see defaultedItem) and as written for profiles.
	items []corev1.LimitRangeItem
}

// label is `LimitRange "name"` or `profile "name"`, built only for a
// message, as most requests need none.
func (s source) label() string {
	if s.profile {
		return fmt.Sprintf("profile %q", s.name)
	}
	return fmt.Sprintf("LimitRange %q", s.name)
}

// sources lists the sources in precedence order: LimitRanges sorted by
// name, then profiles in the order given.
//
// Upstream applies LimitRanges in lister order, which is undefined (the docs
// call the winner "not deterministic"). Sorting by name gives the same
// answer on every replica and in `tollgate eval`. The informer's lists
// usually come sorted already; then nothing is copied.
func sources(in Inputs) []source {
	if len(in.LimitRanges)+len(in.Profiles) == 0 {
		return nil
	}
	byName := func(a, b corev1.LimitRange) int { return strings.Compare(a.Name, b.Name) }
	lrs := in.LimitRanges
	if !slices.IsSortedFunc(lrs, byName) {
		lrs = slices.Clone(lrs) // shallow: the sort must not reorder the caller's slice
		slices.SortStableFunc(lrs, byName)
	}
	out := make([]source, 0, len(lrs)+len(in.Profiles))
	for i := range lrs {
		out = append(out, source{name: lrs[i].Name, items: defaultedItems(lrs[i].Spec.Limits)})
	}
	for _, p := range in.Profiles {
		out = append(out, source{name: p.Name, profile: true, items: p.Limits})
	}
	return out
}

// defaultedItems returns items with defaultedItem applied to each. A stored
// LimitRange has had the API server's defaulting already, so items comes
// back as it is; only a raw one (a fixture, `tollgate eval`) is copied.
func defaultedItems(items []corev1.LimitRangeItem) []corev1.LimitRangeItem {
	var out []corev1.LimitRangeItem
	for i := range items {
		if !needsDefaulting(&items[i]) {
			continue
		}
		if out == nil {
			out = slices.Clone(items) // shallow; the items that need it are replaced by copies
		}
		out[i] = defaultedItem(items[i])
	}
	if out == nil {
		return items
	}
	return out
}

// needsDefaulting reports whether defaultedItem would fill anything in it.
// Once Default holds every key of Max, filling it changes nothing, so
// DefaultRequest is checked against Default and Min as they are.
func needsDefaulting(it *corev1.LimitRangeItem) bool {
	return it.Type == corev1.LimitTypeContainer &&
		(lacksAny(it.Default, it.Max) || lacksAny(it.DefaultRequest, it.Default) || lacksAny(it.DefaultRequest, it.Min))
}

// lacksAny reports whether dst lacks a key of from.
func lacksAny(dst, from corev1.ResourceList) bool {
	for name := range from {
		if _, ok := dst[name]; !ok {
			return true
		}
	}
	return false
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
// stored LimitRange) only fills keys the first left open. With a single
// Container item the lists are that item's own maps: read them only.
func (s source) containerDefaults() (limits, requests corev1.ResourceList) {
	n := 0
	for _, it := range s.items {
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		switch n {
		case 0:
			limits, requests = it.Default, it.DefaultRequest
			n++
			continue
		case 1: // the first item's maps are shared: merge into copies
			limits, requests = maps.Clone(limits), maps.Clone(requests)
		}
		n++
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
