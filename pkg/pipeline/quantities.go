package pipeline

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// maxComputable bounds the quantities the resource checks compute with.
// Below it every sum and comparison is exact (resource.Quantity turns to
// arbitrary precision past int64), and cheap: a value under 10^100 has at
// most ~110 digits after the API server's rounding to nano units. The API
// server accepts far larger ones (1E1000000000): adding or comparing those
// exactly would take minutes, so a Pod carrying one is admitted with its
// resource checks (defaults, limits, quota prediction) skipped and a warning
// saying so; the in-tree LimitRanger and ResourceQuota still decide.
const maxComputable = 1e100

// uncomputable names the first resource quantity of pod at or beyond
// maxComputable, or returns "" when every one can be computed with.
func uncomputable(pod *corev1.Pod) string {
	check := func(where string, r corev1.ResourceRequirements) string {
		if name := tooLarge(r.Requests); name != "" {
			return where + ".requests." + name
		}
		if name := tooLarge(r.Limits); name != "" {
			return where + ".limits." + name
		}
		return ""
	}
	for _, l := range []struct {
		key string
		cs  []corev1.Container
	}{{"initContainers", pod.Spec.InitContainers}, {"containers", pod.Spec.Containers}} {
		for i := range l.cs {
			if at := check(fmt.Sprintf("spec.%s[%d].resources", l.key, i), l.cs[i].Resources); at != "" {
				return at
			}
		}
	}
	if pod.Spec.Resources != nil {
		if at := check("spec.resources", *pod.Spec.Resources); at != "" {
			return at
		}
	}
	if name := tooLarge(pod.Spec.Overhead); name != "" {
		return "spec.overhead." + name
	}
	return ""
}

func tooLarge(list corev1.ResourceList) string {
	for name, q := range list {
		if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= maxComputable {
			return string(name)
		}
	}
	return ""
}

// skipWarning is the warning on a Pod whose resources are not checked.
func skipWarning(at string) string {
	return fmt.Sprintf("%s is too large for Tollgate to compute with (10^100 or more): its resource defaults, limits and quota prediction were skipped; the in-tree LimitRanger and ResourceQuota still apply", at)
}
