package cluster

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Cache reads facts from the manager's informer cache: never a live call
// to the API server per admission request.
type Cache struct {
	Reader client.Reader
}

// Namespace implements pipeline.Facts; a namespace not in the cache is nil.
func (c Cache) Namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	var ns corev1.Namespace
	if err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get namespace: %w", err)
	}
	return &ns, nil
}

// LimitRanges implements pipeline.Facts, sorted by name: upstream leaves the
// order undefined, we make it stable so decisions are reproducible.
func (c Cache) LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error) {
	var list corev1.LimitRangeList
	if err := c.Reader.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list limit ranges: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// Quotas implements pipeline.Facts, sorted by name.
func (c Cache) Quotas(ctx context.Context, namespace string) ([]corev1.ResourceQuota, error) {
	var list corev1.ResourceQuotaList
	if err := c.Reader.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list resource quotas: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}
