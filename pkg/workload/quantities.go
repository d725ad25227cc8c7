package workload

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// maxComputable bounds the quantities the workload checks compute with, as
// the Pod webhook does (pkg/pipeline): below 10^100 arithmetic is exact and
// cheap; a template with a larger quantity (the API server accepts up to
// E2147483647) has its limits and quota checks skipped, with a warning.
const maxComputable = 1e100

// uncomputable names the first quantity of the template at or beyond
// maxComputable, or returns "".
func uncomputable(w *Workload) string {
	if w == nil || w.Template == nil {
		return ""
	}
	spec := &w.Template.Spec
	type list struct {
		where string
		l     corev1.ResourceList
	}
	lists := []list{{"spec.overhead", spec.Overhead}}
	add := func(where string, r corev1.ResourceRequirements) {
		lists = append(lists, list{where + ".requests", r.Requests}, list{where + ".limits", r.Limits})
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
	for _, l := range lists {
		for name, q := range l.l {
			if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= maxComputable {
				return fmt.Sprintf("%s.%s.%s", w.TemplatePath, l.where, name)
			}
		}
	}
	return ""
}
