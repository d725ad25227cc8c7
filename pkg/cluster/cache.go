package cluster

import (
	"context"
	"fmt"
	"sort"

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
// as read-only. The decisions do (pkg/defaults' contract test checks its
// part): defaults copies a LimitRangeItem before completing it and sorts a
// copy of the list when it is out of order; quota builds its own sums and
// snapshots status.used by DeepCopy for the ledger; policy only reads the
// Namespace. Copying ten quotas and five LimitRanges cost about as much as
// the quota check itself.
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
