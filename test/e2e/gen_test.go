//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ladders are the values the generator draws from, per resource, ascending.
var ladders = map[corev1.ResourceName][]string{
	corev1.ResourceCPU:              {"50m", "100m", "200m", "250m", "500m", "750m", "1", "1500m", "2"},
	corev1.ResourceMemory:           {"32Mi", "64Mi", "128Mi", "256Mi", "512Mi", "1Gi", "2Gi"},
	corev1.ResourceEphemeralStorage: {"100Mi", "500Mi", "1Gi", "2Gi", "4Gi"},
}

var resourceNames = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage}

// gen is a seeded, deterministic generator of LimitRanges and Pods: the
// same seed always gives the same cases, so a difference can be replayed.
type gen struct {
	r *rand.Rand
	// podLevel is the chance that a Pod also gets pod-level resources
	// (spec.resources, PodLevelResources is on by default since 1.34).
	podLevel float64
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, seed^0x7011))} }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// limitRange draws a LimitRange the API server accepts: per resource, an
// ordered chain min <= defaultRequest <= default <= max with random links
// missing, sometimes a ratio, sometimes a Pod-level min/max.
func (g *gen) limitRange(name string) *corev1.LimitRange {
	c := corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
		Min: corev1.ResourceList{}, Max: corev1.ResourceList{}, Default: corev1.ResourceList{}, DefaultRequest: corev1.ResourceList{}, MaxLimitRequestRatio: corev1.ResourceList{}}
	pod := corev1.LimitRangeItem{Type: corev1.LimitTypePod, Min: corev1.ResourceList{}, Max: corev1.ResourceList{}}
	for _, res := range resourceNames {
		if !g.chance(0.7) {
			continue
		}
		l := ladders[res]
		idx := []int{g.r.IntN(len(l)), g.r.IntN(len(l)), g.r.IntN(len(l)), g.r.IntN(len(l))}
		sortInts(idx)
		set := func(m corev1.ResourceList, i int) {
			if g.chance(0.5) {
				m[res] = resource.MustParse(l[i])
			}
		}
		set(c.Min, idx[0])
		set(c.DefaultRequest, idx[1])
		set(c.Default, idx[2])
		set(c.Max, idx[3])
		// A ratio must be <= max/min when both exist; keep it simple and safe.
		if g.chance(0.15) && (len(c.Min) == 0 || len(c.Max) == 0) {
			c.MaxLimitRequestRatio[res] = resource.MustParse([]string{"1", "2", "4"}[g.r.IntN(3)])
		}
		if res != corev1.ResourceEphemeralStorage && g.chance(0.2) {
			// Pod totals: a max of 2-4 container maxima, sometimes a min.
			pod.Max[res] = resource.MustParse(l[len(l)-1-g.r.IntN(3)])
			if g.chance(0.3) {
				pod.Min[res] = resource.MustParse(l[0])
			}
		}
	}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{c}}}
	if len(pod.Max)+len(pod.Min) > 0 {
		lr.Spec.Limits = append(lr.Spec.Limits, pod)
	}
	return lr
}

// pod draws 1-3 containers and 0-2 init containers (some of them sidecars),
// each with some explicit requests and limits.
func (g *gen) pod(name string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
	always := corev1.ContainerRestartPolicyAlways
	for i := range 1 + g.r.IntN(3) {
		p.Spec.Containers = append(p.Spec.Containers, g.container(fmt.Sprintf("c%d", i)))
	}
	for i := range g.r.IntN(3) {
		c := g.container(fmt.Sprintf("init%d", i))
		if g.chance(0.35) {
			c.RestartPolicy = &always // a sidecar
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	if g.podLevel > 0 && g.chance(g.podLevel) {
		pl := g.container("pod-level").Resources
		// Only cpu and memory are supported at pod level.
		delete(pl.Requests, corev1.ResourceEphemeralStorage)
		delete(pl.Limits, corev1.ResourceEphemeralStorage)
		if len(pl.Requests)+len(pl.Limits) > 0 {
			p.Spec.Resources = &pl
		}
	}
	return p
}

func (g *gen) container(name string) corev1.Container {
	c := corev1.Container{Name: name, Image: pause}
	for _, res := range resourceNames {
		l := ladders[res]
		req, lim := -1, -1
		if g.chance(0.2) {
			req = g.r.IntN(len(l))
		}
		if g.chance(0.2) {
			lim = g.r.IntN(len(l))
		}
		// Mostly valid pairs; an occasional request > limit is kept, since both
		// servers must then refuse the Pod the same way.
		if req >= 0 && lim >= 0 && req > lim && g.chance(0.85) {
			req, lim = lim, req
		}
		if req >= 0 {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[res] = resource.MustParse(l[req])
		}
		if lim >= 0 {
			if c.Resources.Limits == nil {
				c.Resources.Limits = corev1.ResourceList{}
			}
			c.Resources.Limits[res] = resource.MustParse(l[lim])
		}
	}
	return c
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// resize draws an in-place resize of one regular container: new cpu and/or
// memory requests and limits (the only resources a resize may change), as
// a strategic merge patch for the pods/resize subresource.
func (g *gen) resize(p *corev1.Pod) []byte {
	c := p.Spec.Containers[g.r.IntN(len(p.Spec.Containers))]
	res := map[string]map[string]string{}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		l := ladders[name]
		for _, field := range []string{"requests", "limits"} {
			if g.chance(0.4) {
				if res[field] == nil {
					res[field] = map[string]string{}
				}
				res[field][string(name)] = l[g.r.IntN(len(l))]
			}
		}
	}
	patch := map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": c.Name, "resources": res}}}}
	b, err := json.Marshal(patch)
	if err != nil {
		panic(err) // plain maps always marshal
	}
	return b
}
