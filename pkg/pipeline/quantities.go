package pipeline

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// maxQuantity bounds every resource quantity a Pod may carry. Quantities
// parse cheaply whatever their exponent, but comparing or adding one like
// 1E1000000000 takes minutes; nothing real comes near 2^62.
const maxQuantity = float64(1 << 62)

// checkQuantities refuses a Pod whose resources could stall the decisions.
// The field path is spelled out only for the error, not per container.
func checkQuantities(pod *corev1.Pod, field string) error {
	lists := []struct {
		key string
		cs  []corev1.Container
	}{
		{"initContainers", pod.Spec.InitContainers},
		{"containers", pod.Spec.Containers},
	}
	for _, l := range lists {
		for i := range l.cs {
			if err := checkRequirements(field, l.cs[i].Resources, func() string {
				return fmt.Sprintf("spec.%s[%d].resources", l.key, i)
			}); err != nil {
				return err
			}
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		if err := checkRequirements(field, pod.Spec.EphemeralContainers[i].Resources, func() string {
			return fmt.Sprintf("spec.ephemeralContainers[%d].resources", i)
		}); err != nil {
			return err
		}
	}
	if pod.Spec.Resources != nil {
		if err := checkRequirements(field, *pod.Spec.Resources, func() string { return "spec.resources" }); err != nil {
			return err
		}
	}
	return checkList(field, pod.Spec.Overhead, func() string { return "spec.overhead" })
}

func checkRequirements(field string, r corev1.ResourceRequirements, where func() string) error {
	if err := checkList(field, r.Requests, func() string { return where() + ".requests" }); err != nil {
		return err
	}
	return checkList(field, r.Limits, func() string { return where() + ".limits" })
}

func checkList(field string, list corev1.ResourceList, where func() string) error {
	for name, q := range list {
		if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxQuantity {
			return fmt.Errorf("request.%s: %s %s: quantity out of range", field, where(), name)
		}
	}
	return nil
}
