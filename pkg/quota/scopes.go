package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// selectors returns the quota's scope requirements: every spec.scopes entry
// as {scope Exists}, followed by spec.scopeSelector. All must match.
func selectors(q *corev1.ResourceQuota) []corev1.ScopedResourceSelectorRequirement {
	out := make([]corev1.ScopedResourceSelectorRequirement, 0, len(q.Spec.Scopes))
	for _, s := range q.Spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

// matchesScopes reports whether the Pod is in every scope of the quota. An
// unknown scope or a malformed PriorityClass expression matches nothing,
// which makes the quota not apply (the API server rejects such quotas).
func matchesScopes(q *corev1.ResourceQuota, pod *corev1.Pod) bool {
	for _, s := range selectors(q) {
		if !matchesScope(s, pod) {
			return false
		}
	}
	return true
}

// matchesScope evaluates one scope requirement against the Pod.
func matchesScope(s corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod)
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		return matchesPriorityClass(s, pod.Spec.PriorityClassName)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod)
	}
	return false
}

// isTerminating is about activeDeadlineSeconds, not deletion: a Pod with a
// deadline is "terminating" in the quota sense.
func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// matchesPriorityClass treats the class as a label {PriorityClass: name};
// a Pod without a class has no such label, so NotIn and DoesNotExist match it.
func matchesPriorityClass(s corev1.ScopedResourceSelectorRequirement, class string) bool {
	var op selection.Operator
	switch s.Operator {
	case corev1.ScopeSelectorOpExists:
		return class != ""
	case corev1.ScopeSelectorOpDoesNotExist:
		return class == ""
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	default:
		return false
	}
	req, err := labels.NewRequirement(string(corev1.ResourceQuotaScopePriorityClass), op, s.Values)
	if err != nil {
		return false
	}
	set := labels.Set{}
	if class != "" {
		set[string(corev1.ResourceQuotaScopePriorityClass)] = class
	}
	return req.Matches(set)
}

// usesCrossNamespaceAffinity reports whether any pod (anti-)affinity term,
// required or preferred, names namespaces or has a namespace selector (an
// empty selector {} selects every namespace and counts).
func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}

// isBestEffort uses status.qosClass when set (the API server fills it before
// validating webhooks run), else computes it: no positive cpu or memory
// request or limit. With pod-level resources, only those decide. Extended
// resources never make a Pod burstable.
func isBestEffort(pod *corev1.Pod) bool {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass == corev1.PodQOSBestEffort
	}
	var lists []corev1.ResourceList
	if r := pod.Spec.Resources; r != nil {
		lists = append(lists, r.Requests, r.Limits)
	} else {
		for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for i := range cs {
				lists = append(lists, cs[i].Resources.Requests, cs[i].Resources.Limits)
			}
		}
	}
	for _, l := range lists {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := l[name]; ok && q.Sign() > 0 {
				return false
			}
		}
	}
	return true
}
