package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Cache reads facts from the manager's informer cache: never a live call
// to the API server per admission request.
//
// Reads do not deep-copy (client.UnsafeDisableDeepCopy): the objects
// returned share maps and slices with the cache, so callers must treat them
// as read-only. The decisions do: defaults copies every LimitRangeItem it
// completes (defaultedItem) and sorts its own slice of LimitRanges; quota
// builds new ResourceLists (quotav1.Add, Mask) and snapshots status.used by
// DeepCopy for the ledger; policy only marshals the Namespace. Copying ten
// quotas and five LimitRanges cost about as much as the quota check itself.
type Cache struct {
	Reader client.Reader
}

// Namespace implements pipeline.Facts; a namespace not in the cache is nil.
func (c Cache) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	var ns corev1.Namespace
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, &ns, client.UnsafeDisableDeepCopy); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get namespace: %w", err)
	}
	// ns is a shallow copy: setting its TypeMeta (which an uncopied read
	// leaves as the informer stored it, usually empty) touches no shared state.
	ns.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}
	return &ns, nil
}

// LimitRanges implements pipeline.Facts, sorted by name: upstream leaves the
// order undefined, we make it stable so decisions are reproducible.
func (c Cache) LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error) {
	var list corev1.LimitRangeList
	if err := c.Reader.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list limit ranges: %w", err)
	}
	for i := range list.Items {
		list.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"}
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// Quotas implements pipeline.Facts, sorted by name.
func (c Cache) Quotas(ctx context.Context, namespace string) ([]corev1.ResourceQuota, error) {
	var list corev1.ResourceQuotaList
	if err := c.Reader.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list resource quotas: %w", err)
	}
	for i := range list.Items {
		list.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"}
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// Interner is a cache transform (cache.Options.DefaultTransform, after
// cache.TransformStripManagedFields) that makes cached LimitRanges and
// ResourceQuotas share identical ResourceLists. Namespaces stamped from one
// template carry the same LimitRanges and quota limits; each ResourceList
// is a Go map of Quantities (about 700 bytes for a single entry), so 10,000
// templated LimitRanges hold ~30 MiB of identical maps. status.used, which
// changes with every Pod, is never shared.
//
// Sharing is safe only because nothing mutates cached objects (see Cache).
// Keys are the canonical quantity strings, which is how the API server
// serves them. The table is bounded: past max distinct lists it starts
// afresh (objects keep the maps they have).
type Interner struct {
	mu    sync.Mutex
	max   int
	lists map[string]corev1.ResourceList
}

// NewInterner makes an Interner holding at most max distinct lists.
func NewInterner(max int) *Interner {
	return &Interner{max: max, lists: map[string]corev1.ResourceList{}}
}

// Transform implements cache.TransformFunc.
func (in *Interner) Transform(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.LimitRange:
		for i := range o.Spec.Limits {
			it := &o.Spec.Limits[i]
			it.Max = in.list(it.Max)
			it.Min = in.list(it.Min)
			it.Default = in.list(it.Default)
			it.DefaultRequest = in.list(it.DefaultRequest)
			it.MaxLimitRequestRatio = in.list(it.MaxLimitRequestRatio)
		}
	case *corev1.ResourceQuota:
		o.Spec.Hard = in.list(o.Spec.Hard)
		o.Status.Hard = in.list(o.Status.Hard)
	}
	return obj, nil
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
	in.mu.Lock()
	defer in.mu.Unlock()
	if shared, ok := in.lists[key]; ok {
		return shared
	}
	if len(in.lists) >= in.max {
		in.lists = map[string]corev1.ResourceList{}
	}
	in.lists[key] = l
	return l
}
