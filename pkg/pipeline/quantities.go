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
func checkQuantities(pod *corev1.Pod, field string) error {
	check := func(where string, list corev1.ResourceList) error {
		for name, q := range list {
			if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxQuantity {
				return fmt.Errorf("request.%s: %s %s: quantity out of range", field, where, name)
			}
		}
		return nil
	}
	reqs := func(where string, r corev1.ResourceRequirements) error {
		if err := check(where+".requests", r.Requests); err != nil {
			return err
		}
		return check(where+".limits", r.Limits)
	}
	for i, c := range pod.Spec.InitContainers {
		if err := reqs(fmt.Sprintf("spec.initContainers[%d].resources", i), c.Resources); err != nil {
			return err
		}
	}
	for i, c := range pod.Spec.Containers {
		if err := reqs(fmt.Sprintf("spec.containers[%d].resources", i), c.Resources); err != nil {
			return err
		}
	}
	for i, c := range pod.Spec.EphemeralContainers {
		if err := reqs(fmt.Sprintf("spec.ephemeralContainers[%d].resources", i), c.Resources); err != nil {
			return err
		}
	}
	if pod.Spec.Resources != nil {
		if err := reqs("spec.resources", *pod.Spec.Resources); err != nil {
			return err
		}
	}
	return check("spec.overhead", pod.Spec.Overhead)
}
