package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// podTotals returns what a Pod-type LimitRange item is compared with: the
// Pod's requests and limits as the in-tree LimitRanger adds them up, and,
// per list, the names taken from pod-level spec.resources.
//
// Per resource: the sum over spec.containers and restartable (sidecar) init
// containers, or, if larger, the largest regular init container plus the
// sidecars started before it (init containers run one at a time, sidecars
// keep running). A key is present as soon as any container sets it, so a
// container without a limit is simply not counted. spec.overhead is ignored.
// When spec.resources sets cpu or memory (PodLevelResources, on by default
// since 1.34), that value replaces the sum; LimitRanger does this for cpu and
// memory only, not for hugepages.
func podTotals(pod *corev1.Pod) (requests, limits corev1.ResourceList, fromPod map[string]bool) {
	pick := func(rr corev1.ResourceRequirements, requests bool) corev1.ResourceList {
		if requests {
			return rr.Requests
		}
		return rr.Limits
	}
	fromPod = map[string]bool{}
	total := func(requests bool) corev1.ResourceList {
		sum := corev1.ResourceList{}
		for _, c := range pod.Spec.Containers {
			addTo(sum, pick(c.Resources, requests))
		}
		sidecars := corev1.ResourceList{}
		initMax := corev1.ResourceList{}
		for _, c := range pod.Spec.InitContainers {
			own := pick(c.Resources, requests)
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				// sum already holds every sidecar so far, so the running
				// sidecar total never needs its own place in initMax.
				addTo(sum, own)
				addTo(sidecars, own)
				continue
			}
			candidate := corev1.ResourceList{}
			addTo(candidate, own)
			addTo(candidate, sidecars)
			maxInto(initMax, candidate)
		}
		maxInto(sum, initMax)
		if pod.Spec.Resources != nil {
			list, word := pick(*pod.Spec.Resources, requests), "limits"
			if requests {
				word = "requests"
			}
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := list[name]; ok {
					sum[name] = q.DeepCopy()
					fromPod[word+"/"+string(name)] = true
				}
			}
		}
		return sum
	}
	return total(true), total(false), fromPod
}

// addTo adds every quantity of from to sum.
func addTo(sum, from corev1.ResourceList) {
	for name, q := range from {
		v := sum[name].DeepCopy()
		v.Add(q)
		sum[name] = v
	}
}

// maxInto raises every quantity of into to the one in from where that is larger.
func maxInto(into, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := into[name]; !ok || q.Cmp(cur) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}
