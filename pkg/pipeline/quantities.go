package pipeline

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// maxQuantity bounds every resource quantity a Pod or template may carry.
// Quantities parse cheaply whatever their exponent, but comparing or adding
// one like 1E1000000000 takes minutes; nothing real comes near 2^62.
const maxQuantity = float64(1 << 62)

// checkQuantities refuses a Pod spec whose resources could stall the
// decisions; field and specPath say where the spec is, for the error.
func checkQuantities(spec *corev1.PodSpec, field, specPath string) error {
	var err error
	check := func(where string, list corev1.ResourceList) {
		for name, q := range list {
			if f := q.AsApproximateFloat64(); err == nil && (math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxQuantity) {
				err = fmt.Errorf("request.%s: %s.%s %s: quantity out of range", field, specPath, where, name)
			}
		}
	}
	resources := func(where string, r corev1.ResourceRequirements) {
		check(where+".requests", r.Requests)
		check(where+".limits", r.Limits)
	}
	for i, c := range spec.InitContainers {
		resources(fmt.Sprintf("initContainers[%d].resources", i), c.Resources)
	}
	for i, c := range spec.Containers {
		resources(fmt.Sprintf("containers[%d].resources", i), c.Resources)
	}
	for i, c := range spec.EphemeralContainers {
		resources(fmt.Sprintf("ephemeralContainers[%d].resources", i), c.Resources)
	}
	if spec.Resources != nil {
		resources("resources", *spec.Resources)
	}
	check("overhead", spec.Overhead)
	return err
}
