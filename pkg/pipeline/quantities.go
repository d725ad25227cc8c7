package pipeline

import (
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// maxComputable bounds the quantities the resource checks compute with.
// Below it every sum and comparison is exact (resource.Quantity turns to
// arbitrary precision past int64), and cheap: a value under 10^100 has at
// most ~110 digits after the API server's rounding to nano units. The API
// server accepts far larger ones (1E1000000000): adding or comparing those
// exactly would take minutes, so for a Pod carrying one Tollgate skips its
// defaults and quota prediction (the in-tree ResourceQuota still decides),
// checks its limits with the value clamped to 10^99, and warns; for a
// workload it skips the limits and quota checks of its template.
const maxComputable = 1e100

// uncomputable names the first resource quantity of spec at or beyond
// maxComputable, its path starting with prefix ("spec" for a Pod), or
// returns "" when every one can be computed with.
func uncomputable(spec *corev1.PodSpec, prefix string) string {
	first := ""
	resourceLists(spec, prefix, func(where string, list corev1.ResourceList) {
		if first != "" {
			return
		}
		var found corev1.ResourceName // the first by name, for a stable answer
		for name, q := range list {
			if tooLarge(q) && (found == "" || name < found) {
				found = name
			}
		}
		if found != "" {
			first = where + "." + string(found)
		}
	})
	return first
}

// podUncomputable is uncomputable for a Pod request: the object first,
// then the old object.
func podUncomputable(pod, old *corev1.Pod) string {
	if pod != nil {
		if at := uncomputable(&pod.Spec, "spec"); at != "" {
			return at
		}
	}
	if old != nil {
		if at := uncomputable(&old.Spec, "spec"); at != "" {
			return "oldObject " + at
		}
	}
	return ""
}

// clampedValue stands in for a quantity too large to compute with when
// limits are checked: above any max a LimitRange or profile can sensibly
// set, yet exact and cheap to compare.
var clampedValue = resource.MustParse("1e99")

// clamped returns pod, or a copy in which every quantity at or beyond
// maxComputable is clampedValue. Checking limits on it keeps a huge value
// from walking around a max that only Tollgate enforces (a profile's):
// it still exceeds the max, and a resource it leaves without a limit
// still lacks one.
func clamped(pod *corev1.Pod) *corev1.Pod {
	if pod == nil || uncomputable(&pod.Spec, "spec") == "" {
		return pod
	}
	c := pod.DeepCopy()
	resourceLists(&c.Spec, "spec", func(_ string, list corev1.ResourceList) {
		for name, q := range list {
			if tooLarge(q) {
				list[name] = clampedValue.DeepCopy()
			}
		}
	})
	return c
}

// resourceLists calls fn with every resource list of spec that decisions
// read, and its field path: requests and limits of init containers,
// containers and the pod, then its overhead.
func resourceLists(spec *corev1.PodSpec, prefix string, fn func(where string, list corev1.ResourceList)) {
	both := func(where string, r *corev1.ResourceRequirements) {
		fn(where+".requests", r.Requests)
		fn(where+".limits", r.Limits)
	}
	for i := range spec.InitContainers {
		both(fmt.Sprintf("%s.initContainers[%d].resources", prefix, i), &spec.InitContainers[i].Resources)
	}
	for i := range spec.Containers {
		both(fmt.Sprintf("%s.containers[%d].resources", prefix, i), &spec.Containers[i].Resources)
	}
	if spec.Resources != nil {
		both(prefix+".resources", spec.Resources)
	}
	fn(prefix+".overhead", spec.Overhead)
}

func tooLarge(q resource.Quantity) bool {
	f := q.AsApproximateFloat64()
	return math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= maxComputable
}

// skipWarning is the warning on a Pod whose resources are not checked.
func skipWarning(at string) verdict.Warning {
	return verdict.Warning{Code: verdict.CodeUncomputable, Message: fmt.Sprintf("%s is too large for Tollgate to compute with (10^100 or more): its resource defaults and quota prediction were skipped and its limits checked as if it were 10^99; the in-tree LimitRanger and ResourceQuota still apply", at)}
}
