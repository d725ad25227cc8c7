package quota

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestScopes follows upstream MatchingScopes (reference C.5) and adds the
// PriorityClass operators.
func TestScopes(t *testing.T) {
	all := []corev1.ScopedResourceSelectorRequirement{
		{ScopeName: corev1.ResourceQuotaScopeTerminating, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopeNotTerminating, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopeNotBestEffort, Operator: corev1.ScopeSelectorOpExists},
		{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"class1"}},
		{ScopeName: corev1.ResourceQuotaScopeCrossNamespacePodAffinity, Operator: corev1.ScopeSelectorOpExists},
	}
	nsTerm := corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", Namespaces: []string{"ns1"}}
	selTerm := corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", NamespaceSelector: &metav1.LabelSelector{}}
	localTerm := corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname"}
	tests := map[string]struct {
		pod  *corev1.Pod
		want string
	}{
		"empty pod":             {pod(), "NotTerminating BestEffort"},
		"priority class":        {pod(withPriorityClass("class1")), "NotTerminating BestEffort PriorityClass"},
		"other class":           {pod(withPriorityClass("class2")), "NotTerminating BestEffort"},
		"not best effort":       {pod(withContainer("c", req("cpu", "1", "memory", "50M", "example.com/dongle", "1"), lim("cpu", "2", "memory", "100M", "example.com/dongle", "1"))), "NotTerminating NotBestEffort"},
		"terminating":           {pod(withDeadline(30)), "Terminating BestEffort"},
		"zero deadline":         {pod(withDeadline(0)), "Terminating BestEffort"},
		"required affinity":     {pod(withDeadline(30), withPodAffinity(nsTerm, false, false)), "Terminating BestEffort CrossNamespacePodAffinity"},
		"preferred selector":    {pod(withPodAffinity(selTerm, false, true)), "NotTerminating BestEffort CrossNamespacePodAffinity"},
		"required anti":         {pod(withPodAffinity(nsTerm, true, false)), "NotTerminating BestEffort CrossNamespacePodAffinity"},
		"same-namespace term":   {pod(withPodAffinity(localTerm, false, false)), "NotTerminating BestEffort"},
		"extended only":         {pod(withContainer("c", req("nvidia.com/gpu", "1"), lim("nvidia.com/gpu", "1"))), "NotTerminating BestEffort"},
		"zero cpu":              {pod(withContainer("c", req("cpu", "0"))), "NotTerminating BestEffort"},
		"pod-level only":        {pod(withPodResources(list("cpu", "1"), nil), withContainer("c")), "NotTerminating NotBestEffort"},
		"pod-level decides":     {pod(withPodResources(list("example.com/x", "1"), nil), withContainer("c", req("cpu", "1"))), "NotTerminating BestEffort"},
		"status qosClass wins":  {pod(withQOS(corev1.PodQOSBurstable)), "NotTerminating NotBestEffort"},
		"init container counts": {pod(withInit("i", lim("memory", "1Gi"))), "NotTerminating NotBestEffort"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, s := range all {
				if matchesScope(s, tc.pod) {
					got = append(got, string(s.ScopeName))
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("matched scopes = %q, want %q", g, tc.want)
			}
		})
	}
}

// TestPriorityClassOperators checks label-selector semantics, where a Pod
// without a class has no PriorityClass label at all.
func TestPriorityClassOperators(t *testing.T) {
	tests := map[string]struct {
		op     corev1.ScopeSelectorOperator
		values []string
		class  string
		want   bool
	}{
		"In matches":                       {corev1.ScopeSelectorOpIn, []string{"high", "mid"}, "mid", true},
		"In misses":                        {corev1.ScopeSelectorOpIn, []string{"high"}, "low", false},
		"In misses classless":              {corev1.ScopeSelectorOpIn, []string{"high"}, "", false},
		"NotIn matches other":              {corev1.ScopeSelectorOpNotIn, []string{"high"}, "low", true},
		"NotIn matches classless":          {corev1.ScopeSelectorOpNotIn, []string{"high"}, "", true},
		"NotIn misses listed":              {corev1.ScopeSelectorOpNotIn, []string{"high"}, "high", false},
		"Exists matches":                   {corev1.ScopeSelectorOpExists, nil, "low", true},
		"Exists misses classless":          {corev1.ScopeSelectorOpExists, nil, "", false},
		"DoesNotExist matches":             {corev1.ScopeSelectorOpDoesNotExist, nil, "", true},
		"DoesNotExist misses a class":      {corev1.ScopeSelectorOpDoesNotExist, nil, "low", false},
		"In without values is broken":      {corev1.ScopeSelectorOpIn, nil, "low", false},
		"NotIn with a bad value is broken": {corev1.ScopeSelectorOpNotIn, []string{"high", "not a label value"}, "low", false},
		"unknown operator":                 {"Gt", []string{"1"}, "low", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: tc.op, Values: tc.values}
			if got := matchesScope(s, pod(withPriorityClass(tc.class))); got != tc.want {
				t.Errorf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestScopesAreANDed: spec.scopes and scopeSelector must all match.
func TestScopesAreANDed(t *testing.T) {
	q := rq("q", scopes(corev1.ResourceQuotaScopeNotBestEffort),
		selector(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpIn, "high"))
	tests := map[string]struct {
		pod  *corev1.Pod
		want bool
	}{
		"both":          {pod(withPriorityClass("high"), withContainer("c", req("cpu", "1"))), true},
		"scope only":    {pod(withContainer("c", req("cpu", "1"))), false},
		"selector only": {pod(withPriorityClass("high")), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := matchesScopes(&q, tc.pod); got != tc.want {
				t.Errorf("matchesScopes = %v, want %v", got, tc.want)
			}
		})
	}
}
