package defaults

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The AnnotationDefaulted value lists what Tollgate set, in the in-tree
// LimitRanger's words (without its "LimitRanger plugin set: " prefix):
//
//	cpu, memory request for container app; cpu limit for init container setup
//
// Entries follow the Pod: spec.containers then spec.initContainers, each
// with its request entry before its limit entry; resource names are sorted.
// Unlike upstream, which overwrites its annotation with whatever the last
// LimitRange set, a new value is merged with the entries already there, so
// the annotation keeps telling everything Tollgate ever set on the Pod
// (e.g. across reinvocation). Entries we cannot read, or that name a
// container the Pod no longer has, are kept verbatim at the end.

// entryKey identifies one entry: a container and which list was set.
type entryKey struct {
	kind, name, what string // what is "request" or "limit"
}

// recordDefaulted merges set into the annotation and reports whether the
// annotation changed. When nothing was set it does not touch it at all.
func recordDefaulted(pod *corev1.Pod, ctrs []ctrRef, set []setOn) bool {
	merged := map[entryKey]map[corev1.ResourceName]bool{}
	add := func(k entryKey, names []corev1.ResourceName) {
		if merged[k] == nil {
			merged[k] = map[corev1.ResourceName]bool{}
		}
		for _, n := range names {
			merged[k][n] = true
		}
	}
	changed := false
	for i, r := range ctrs {
		if len(set[i].requests) > 0 {
			add(entryKey{r.kind, r.c.Name, "request"}, set[i].requests)
			changed = true
		}
		if len(set[i].limits) > 0 {
			add(entryKey{r.kind, r.c.Name, "limit"}, set[i].limits)
			changed = true
		}
	}
	if !changed {
		return false
	}

	old, had := pod.Annotations[AnnotationDefaulted]
	known := map[entryKey]bool{}
	for _, r := range ctrs {
		known[entryKey{r.kind, r.c.Name, "request"}] = true
		known[entryKey{r.kind, r.c.Name, "limit"}] = true
	}
	var extra []string
	for _, seg := range splitEntries(old) {
		k, names, ok := parseEntry(seg)
		if !ok || !known[k] {
			extra = append(extra, seg)
			continue
		}
		add(k, names)
	}

	var parts []string
	done := map[entryKey]bool{}
	for _, r := range ctrs {
		for _, what := range []string{"request", "limit"} {
			k := entryKey{r.kind, r.c.Name, what}
			if done[k] || len(merged[k]) == 0 {
				continue
			}
			done[k] = true
			parts = append(parts, fmt.Sprintf("%s %s for %s %s", joinNames(merged[k]), what, r.kind, r.c.Name))
		}
	}
	value := strings.Join(append(parts, extra...), "; ")
	if had && value == old {
		return false
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationDefaulted] = value
	return true
}

// splitEntries splits an annotation value into its entries.
func splitEntries(v string) []string {
	var out []string
	for _, seg := range strings.Split(v, ";") {
		if seg = strings.TrimSpace(seg); seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// parseEntry reads one "<names> <what> for <kind> <name>" entry.
func parseEntry(seg string) (entryKey, []corev1.ResourceName, bool) {
	for _, what := range []string{"request", "limit"} {
		for _, kind := range []string{kindInitContainer, kindContainer} {
			marker := " " + what + " for " + kind + " "
			i := strings.Index(seg, marker)
			if i <= 0 {
				continue
			}
			var names []corev1.ResourceName
			for _, n := range strings.Split(seg[:i], ",") {
				names = append(names, corev1.ResourceName(strings.TrimSpace(n)))
			}
			return entryKey{kind, seg[i+len(marker):], what}, names, true
		}
	}
	return entryKey{}, nil, false
}

// joinNames renders a set of resource names sorted and comma separated.
func joinNames(set map[corev1.ResourceName]bool) string {
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, string(n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
