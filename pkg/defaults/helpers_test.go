package defaults

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Builders: pod(ctr("app", req("cpu", "100m")), initCtr("setup"), ...).

type podOpt func(*corev1.Pod)
type ctrOpt func(*corev1.Container)
type itemOpt func(*corev1.LimitRangeItem)

func pod(opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func container(name string, opts ...ctrOpt) corev1.Container {
	c := corev1.Container{Name: name, Image: "busybox"}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func ctr(name string, opts ...ctrOpt) podOpt {
	return func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, container(name, opts...)) }
}

func initCtr(name string, opts ...ctrOpt) podOpt {
	return func(p *corev1.Pod) { p.Spec.InitContainers = append(p.Spec.InitContainers, container(name, opts...)) }
}

func sidecar(name string, opts ...ctrOpt) podOpt {
	always := corev1.ContainerRestartPolicyAlways
	return func(p *corev1.Pod) {
		c := container(name, opts...)
		c.RestartPolicy = &always
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
}

func ephemeral(name string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: "busybox"},
		})
	}
}

func annotated(value string) podOpt { return withAnnotation(AnnotationDefaulted, value) }

func withAnnotation(key, value string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[key] = value
	}
}

func podLevel(list string, name, q string) podOpt {
	return func(p *corev1.Pod) {
		if p.Spec.Resources == nil {
			p.Spec.Resources = &corev1.ResourceRequirements{}
		}
		set(&p.Spec.Resources.Requests, &p.Spec.Resources.Limits, list, name, q)
	}
}

func overhead(name, q string) podOpt {
	return func(p *corev1.Pod) {
		if p.Spec.Overhead == nil {
			p.Spec.Overhead = corev1.ResourceList{}
		}
		p.Spec.Overhead[corev1.ResourceName(name)] = resource.MustParse(q)
	}
}

func set(reqs, lims *corev1.ResourceList, list, name, q string) {
	dst := reqs
	if list == "limits" {
		dst = lims
	}
	if *dst == nil {
		*dst = corev1.ResourceList{}
	}
	(*dst)[corev1.ResourceName(name)] = resource.MustParse(q)
}

func req(name, q string) ctrOpt {
	return func(c *corev1.Container) { set(&c.Resources.Requests, &c.Resources.Limits, "requests", name, q) }
}

func lim(name, q string) ctrOpt {
	return func(c *corev1.Container) { set(&c.Resources.Requests, &c.Resources.Limits, "limits", name, q) }
}

// both sets request and limit to the same value.
func both(name, q string) ctrOpt {
	return func(c *corev1.Container) { req(name, q)(c); lim(name, q)(c) }
}

func item(typ corev1.LimitType, opts ...itemOpt) corev1.LimitRangeItem {
	it := corev1.LimitRangeItem{Type: typ}
	for _, o := range opts {
		o(&it)
	}
	return it
}

func itemList(pick func(*corev1.LimitRangeItem) *corev1.ResourceList, name, q string) itemOpt {
	return func(it *corev1.LimitRangeItem) {
		l := pick(it)
		if *l == nil {
			*l = corev1.ResourceList{}
		}
		(*l)[corev1.ResourceName(name)] = resource.MustParse(q)
	}
}

func minOf(name, q string) itemOpt {
	return itemList(func(it *corev1.LimitRangeItem) *corev1.ResourceList { return &it.Min }, name, q)
}

func maxOf(name, q string) itemOpt {
	return itemList(func(it *corev1.LimitRangeItem) *corev1.ResourceList { return &it.Max }, name, q)
}

func defLimit(name, q string) itemOpt {
	return itemList(func(it *corev1.LimitRangeItem) *corev1.ResourceList { return &it.Default }, name, q)
}

func defReq(name, q string) itemOpt {
	return itemList(func(it *corev1.LimitRangeItem) *corev1.ResourceList { return &it.DefaultRequest }, name, q)
}

func ratioOf(name, q string) itemOpt {
	return itemList(func(it *corev1.LimitRangeItem) *corev1.ResourceList { return &it.MaxLimitRequestRatio }, name, q)
}

func containerItem(opts ...itemOpt) corev1.LimitRangeItem {
	return item(corev1.LimitTypeContainer, opts...)
}
func podItem(opts ...itemOpt) corev1.LimitRangeItem { return item(corev1.LimitTypePod, opts...) }

func limitRange(name string, items ...corev1.LimitRangeItem) corev1.LimitRange {
	return corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       corev1.LimitRangeSpec{Limits: items},
	}
}

func profile(name string, items ...corev1.LimitRangeItem) Profile {
	return Profile{Name: name, Limits: items}
}

// jsonOf is what the API server would store: byte identity is checked on it.
func jsonOf(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshal pod: %v", err)
	}
	return string(b)
}

// quantityEqual compares quantities by value, as the API server does.
func quantityEqual() cmp.Option {
	return cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })
}

// assertIdempotent applies in to p (an Apply output) once more and fails
// unless nothing changes, byte for byte, with no warnings.
func assertIdempotent(t *testing.T, p *corev1.Pod, in Inputs) {
	t.Helper()
	before := jsonOf(t, p)
	again := p.DeepCopy()
	res := Apply(again, in)
	// A conflict between LimitRanges stays true of a Pod the in-tree
	// LimitRanger defaulted, so only that warning may come again.
	warnings := slices.DeleteFunc(res.Warnings, func(w verdict.Warning) bool { return w.Code == CodeConflict })
	if res.Changed || len(warnings) > 0 {
		t.Errorf("second Apply: Changed=%v Warnings=%q, want no change", res.Changed, res.Warnings)
	}
	if diff := cmp.Diff(before, jsonOf(t, again)); diff != "" {
		t.Errorf("second Apply changed the pod (-first +second):\n%s", diff)
	}
}
