package cluster

import (
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// Interner is a cache transform (cache.Options.DefaultTransform, after Slim)
// that makes cached objects share identical ResourceLists and strings.
// Namespaces stamped from one template carry the same LimitRanges, quota
// limits and labels, and idle namespaces the same quota usage; each
// ResourceList is a Go map of Quantities (about 700 bytes for a few
// entries), and each decoded string its own allocation, so 10,000 templated
// quotas hold tens of MiB of identical copies.
//
// Sharing is safe only because nothing mutates cached objects (see Cache).
// List keys are the canonical quantity strings, which is how the API server
// serves them. Each table is bounded: past max entries it starts afresh
// (objects keep what they have). status.used changes with every Pod, so in
// a busy cluster the list table also holds stale usages, up to max of them.
type Interner struct {
	mu    sync.Mutex
	max   int
	lists map[string]corev1.ResourceList
	strs  map[string]string
}

// NewInterner makes an Interner holding at most max distinct lists and max
// distinct strings.
func NewInterner(max int) *Interner {
	return &Interner{max: max, lists: map[string]corev1.ResourceList{}, strs: map[string]string{}}
}

// Transform implements cache.TransformFunc.
func (in *Interner) Transform(obj any) (any, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch o := obj.(type) {
	case *corev1.Namespace:
		o.Labels = in.labels(o.Labels, o.Name)
	case *corev1.LimitRange:
		o.Name = in.str(o.Name)
		for i := range o.Spec.Limits {
			it := &o.Spec.Limits[i]
			it.Type = corev1.LimitType(in.str(string(it.Type)))
			it.Max = in.list(it.Max)
			it.Min = in.list(it.Min)
			it.Default = in.list(it.Default)
			it.DefaultRequest = in.list(it.DefaultRequest)
			it.MaxLimitRequestRatio = in.list(it.MaxLimitRequestRatio)
		}
	case *corev1.ResourceQuota:
		o.Name = in.str(o.Name)
		o.Spec.Hard = in.list(o.Spec.Hard)
		o.Status.Hard = in.list(o.Status.Hard)
		o.Status.Used = in.list(o.Status.Used)
	}
	return obj, nil
}

// labels interns keys and values in place (a freshly decoded map); the
// kubernetes.io/metadata.name value is the namespace's own name, shared
// with it rather than tabled, since it is unique.
func (in *Interner) labels(l map[string]string, name string) map[string]string {
	for k, v := range l {
		if v == name {
			v = name
		} else {
			v = in.str(v)
		}
		// Assigning to an existing string key replaces the stored key too.
		l[in.str(k)] = v
	}
	return l
}

func (in *Interner) str(s string) string {
	if s == "" {
		return s
	}
	if shared, ok := in.strs[s]; ok {
		return shared
	}
	if len(in.strs) >= in.max {
		in.strs = map[string]string{}
	}
	in.strs[s] = s
	return s
}

func (in *Interner) list(l corev1.ResourceList) corev1.ResourceList {
	if len(l) == 0 {
		return l
	}
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, string(n))
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		q := l[corev1.ResourceName(n)] // a copy: String caches into its receiver
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(q.String())
		b.WriteByte(';')
	}
	key := b.String()
	if shared, ok := in.lists[key]; ok {
		return shared
	}
	if len(in.lists) >= in.max {
		in.lists = map[string]corev1.ResourceList{}
	}
	// A new list is kept with its keys interned, so later distinct lists
	// (other usages) share the resource names.
	for _, n := range names {
		l[corev1.ResourceName(in.str(n))] = l[corev1.ResourceName(n)]
	}
	in.lists[key] = l
	return l
}
