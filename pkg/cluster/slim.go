package cluster

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Slim is a cache transform (cache.Options.DefaultTransform) that drops,
// before an object is stored, the fields no decision or policy reads, so
// `tollgate serve` stays small with thousands of namespaces:
//
//   - every object loses managedFields;
//   - a Namespace loses only kubectl's last-applied-configuration annotation,
//     a JSON copy of the object that can be larger than the rest of it.
//     Policies get the Namespace as input.namespace and may read any other
//     field (policies/schemas/input.json documents name, labels and
//     annotations), so the rest stays;
//   - a LimitRange or ResourceQuota keeps its name, namespace, labels,
//     resourceVersion, creation and deletion timestamps, spec and status.
//     defaults and quota read spec and status only; uid, annotations, owner
//     references and finalizers are never read.
//
// Objects of other types, and the informer's tombstones, pass unchanged.
// Applying Slim twice gives the same object.
func Slim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Namespace:
		o.ManagedFields = nil
		// The informer hands the transform a freshly decoded object, so
		// editing it in place is safe.
		delete(o.Annotations, corev1.LastAppliedConfigAnnotation)
		if len(o.Annotations) == 0 {
			o.Annotations = nil
		}
	case *corev1.LimitRange:
		o.ObjectMeta = slimMeta(o.ObjectMeta)
	case *corev1.ResourceQuota:
		o.ObjectMeta = slimMeta(o.ObjectMeta)
	}
	return obj, nil
}

func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		Labels:            m.Labels,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
	}
}
