package workload

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// quantityBound is the largest magnitude a template's resource quantity may
// have. Parsing 1E1000000000 is cheap, comparing or multiplying it is not;
// nothing real comes near 2^62, so such a template is a bad request.
const quantityBound = float64(1 << 62)

// checkQuantities refuses a template whose resources would stall the
// arithmetic (the Pod decoder refuses such Pods the same way).
func checkQuantities(w *Workload) error {
	if w.Template == nil {
		return nil
	}
	spec := &w.Template.Spec
	lists := map[string]corev1.ResourceList{"spec.overhead": spec.Overhead}
	add := func(where string, r corev1.ResourceRequirements) {
		lists[where+".requests"], lists[where+".limits"] = r.Requests, r.Limits
	}
	for i, c := range spec.InitContainers {
		add(fmt.Sprintf("spec.initContainers[%d].resources", i), c.Resources)
	}
	for i, c := range spec.Containers {
		add(fmt.Sprintf("spec.containers[%d].resources", i), c.Resources)
	}
	if spec.Resources != nil {
		add("spec.resources", *spec.Resources)
	}
	for where, list := range lists {
		for name, q := range list {
			if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > quantityBound {
				return fmt.Errorf("%s.%s %s: quantity out of range", w.TemplatePath, where, name)
			}
		}
	}
	return nil
}
