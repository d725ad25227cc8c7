package quota

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// matchesScopes reports whether the Pod is in every scope of the quota:
// every spec.scopes entry as {scope Exists}, and every spec.scopeSelector
// expression. An unknown scope or a malformed PriorityClass expression
// matches nothing, which makes the quota not apply (the API server rejects
// such quotas).
func matchesScopes(q *corev1.ResourceQuota, pod *corev1.Pod) bool {
	for _, s := range q.Spec.Scopes {
		if !matchesScope(corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists}, pod) {
			return false
		}
	}
	if q.Spec.ScopeSelector != nil {
		for _, s := range q.Spec.ScopeSelector.MatchExpressions {
			if !matchesScope(s, pod) {
				return false
			}
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

// matchesPriorityClass treats the class as a label {PriorityClass: name},
// as a labels.Requirement would: a Pod without a class has no such label,
// so NotIn and DoesNotExist match it; In and NotIn need at least one value,
// and every value must be a valid label value, or nothing matches.
func matchesPriorityClass(s corev1.ScopedResourceSelectorRequirement, class string) bool {
	switch s.Operator {
	case corev1.ScopeSelectorOpExists:
		return class != ""
	case corev1.ScopeSelectorOpDoesNotExist:
		return class == ""
	case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
	default:
		return false
	}
	if len(s.Values) == 0 {
		return false
	}
	listed := false
	for _, v := range s.Values {
		if len(validation.IsValidLabelValue(v)) > 0 {
			return false
		}
		listed = listed || (class != "" && v == class)
	}
	if s.Operator == corev1.ScopeSelectorOpIn {
		return listed
	}
	return !listed
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
	if r := pod.Spec.Resources; r != nil {
		return !burstable(r.Requests) && !burstable(r.Limits)
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if burstable(cs[i].Resources.Requests) || burstable(cs[i].Resources.Limits) {
				return false
			}
		}
	}
	return true
}

// burstable reports a positive cpu or memory quantity in l.
func burstable(l corev1.ResourceList) bool {
	for _, name := range [...]corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := l[name]; ok && q.Sign() > 0 {
			return true
		}
	}
	return false
}
