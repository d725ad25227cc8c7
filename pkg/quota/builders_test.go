package quota

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// list builds a ResourceList from name, quantity pairs.
func list(kv ...string) corev1.ResourceList {
	if len(kv)%2 != 0 {
		panic("list needs name, quantity pairs")
	}
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// show renders a ResourceList as sorted name=quantity pairs for diffs.
func show(l corev1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for n, q := range l {
		parts = append(parts, fmt.Sprintf("%s=%s", n, q.String()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

type ctrOpt func(*corev1.Container)

func req(kv ...string) ctrOpt {
	return func(c *corev1.Container) { c.Resources.Requests = list(kv...) }
}

func lim(kv ...string) ctrOpt {
	return func(c *corev1.Container) { c.Resources.Limits = list(kv...) }
}

func ctr(name string, opts ...ctrOpt) corev1.Container {
	c := corev1.Container{Name: name, Image: "registry.example/app:1"}
	for _, o := range opts {
		o(&c)
	}
	return c
}

type podOpt func(*corev1.Pod)

func pod(opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a", ResourceVersion: "7"}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withContainer(name string, opts ...ctrOpt) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, ctr(name, opts...)) }
}

func withInit(name string, opts ...ctrOpt) podOpt {
	return func(p *corev1.Pod) { p.Spec.InitContainers = append(p.Spec.InitContainers, ctr(name, opts...)) }
}

func withSidecar(name string, opts ...ctrOpt) podOpt {
	return func(p *corev1.Pod) {
		c := ctr(name, opts...)
		always := corev1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func withOverhead(kv ...string) podOpt {
	return func(p *corev1.Pod) { p.Spec.Overhead = list(kv...) }
}

func withPodResources(requests, limits corev1.ResourceList) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: requests, Limits: limits}
	}
}

func withDeadline(seconds int64) podOpt {
	return func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = &seconds }
}

func withPriorityClass(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}

func withPhase(phase corev1.PodPhase) podOpt {
	return func(p *corev1.Pod) { p.Status.Phase = phase }
}

func withQOS(class corev1.PodQOSClass) podOpt {
	return func(p *corev1.Pod) { p.Status.QOSClass = class }
}

func withLabel(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
	}
}

func withPodAffinity(term corev1.PodAffinityTerm, anti, preferred bool) podOpt {
	return func(p *corev1.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &corev1.Affinity{}
		}
		a := &corev1.PodAffinity{}
		if preferred {
			a.PreferredDuringSchedulingIgnoredDuringExecution = []corev1.WeightedPodAffinityTerm{{Weight: 1, PodAffinityTerm: term}}
		} else {
			a.RequiredDuringSchedulingIgnoredDuringExecution = []corev1.PodAffinityTerm{term}
		}
		if anti {
			p.Spec.Affinity.PodAntiAffinity = &corev1.PodAntiAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution:  a.RequiredDuringSchedulingIgnoredDuringExecution,
				PreferredDuringSchedulingIgnoredDuringExecution: a.PreferredDuringSchedulingIgnoredDuringExecution,
			}
			return
		}
		p.Spec.Affinity.PodAffinity = a
	}
}

type quotaOpt func(*corev1.ResourceQuota)

func rq(name string, opts ...quotaOpt) corev1.ResourceQuota {
	q := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a"}}
	for _, o := range opts {
		o(&q)
	}
	return q
}

// hard sets spec.hard and status.hard, as the quota controller would.
func hard(kv ...string) quotaOpt {
	return func(q *corev1.ResourceQuota) {
		q.Spec.Hard = list(kv...)
		q.Status.Hard = list(kv...)
	}
}

func used(kv ...string) quotaOpt {
	return func(q *corev1.ResourceQuota) { q.Status.Used = list(kv...) }
}

func scopes(s ...corev1.ResourceQuotaScope) quotaOpt {
	return func(q *corev1.ResourceQuota) { q.Spec.Scopes = s }
}

func selector(scope corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, values ...string) quotaOpt {
	return func(q *corev1.ResourceQuota) {
		if q.Spec.ScopeSelector == nil {
			q.Spec.ScopeSelector = &corev1.ScopeSelector{}
		}
		q.Spec.ScopeSelector.MatchExpressions = append(q.Spec.ScopeSelector.MatchExpressions,
			corev1.ScopedResourceSelectorRequirement{ScopeName: scope, Operator: op, Values: values})
	}
}

func inNamespace(ns string) quotaOpt {
	return func(q *corev1.ResourceQuota) { q.Namespace = ns }
}

func quotas(qs ...corev1.ResourceQuota) []corev1.ResourceQuota { return qs }
