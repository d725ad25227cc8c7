package defaults

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestApplyWritesOnlyDefaults: over many generated Pods and sources, Apply
// changes only the defaulted annotation and container resources, reports
// Changed exactly when it changed the Pod, and neither Apply nor Validate
// writes into the Inputs, which in the webhook are the informer's shared
// objects.
func TestApplyWritesOnlyDefaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 3000 {
		pod, in := genPod(rng), genInputs(rng)
		before, inBefore := pod.DeepCopy(), deepCopyInputs(in)
		res := Apply(pod, in)
		Validate(pod, in)
		name := fmt.Sprintf("case %d", n)
		if !reflect.DeepEqual(in, inBefore) {
			t.Fatalf("%s: Apply or Validate wrote into the inputs: %s", name, cmp.Diff(inBefore, in))
		}
		if changed := !reflect.DeepEqual(pod, before); res.Changed != changed {
			t.Fatalf("%s: Changed=%v but the Pod changed=%v: %s", name, res.Changed, changed, cmp.Diff(before, pod))
		}
		if got, want := masked(pod), masked(before); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Apply wrote outside annotations and resources: %s", name, cmp.Diff(want, got))
		}
	}
}

// TestSourcesShareStoredItems: stored (already defaulted) LimitRanges
// given in name order are used as they are, not copied; the test above
// shows nothing writes into them.
func TestSourcesShareStoredItems(t *testing.T) {
	raw := limitRange("b", containerItem(maxOf("cpu", "2")))
	stored := limitRange("a", defaultedItem(raw.Spec.Limits[0]))
	srcs := sources(Inputs{LimitRanges: []corev1.LimitRange{stored, raw}})
	if &srcs[0].items[0] != &stored.Spec.Limits[0] {
		t.Error("a stored LimitRange's items were copied")
	}
	if &srcs[1].items[0] == &raw.Spec.Limits[0] || len(srcs[1].items[0].Default) == 0 {
		t.Error("a raw LimitRange's items were not defaulted on a copy")
	}
	unsorted := []corev1.LimitRange{limitRange("b"), limitRange("a")}
	if srcs := sources(Inputs{LimitRanges: unsorted}); srcs[0].name != "a" || unsorted[0].Name != "b" {
		t.Errorf("sources order %q, input reordered to %q", srcs[0].name, unsorted[0].Name)
	}
}

// TestApplySharedInputsConcurrently runs Apply and Validate on one set of
// inputs from several goroutines, as the webhook does with the informer's
// objects: each Pod gets what it gets alone, and the inputs stay as they
// were (under -race any write into them shows as well).
func TestApplySharedInputsConcurrently(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		in := genInputs(rng)
		inBefore := deepCopyInputs(in)
		pods, want := make([]*corev1.Pod, 4), make([]*corev1.Pod, 4)
		for i := range pods {
			pods[i] = genPod(rng)
			want[i] = pods[i].DeepCopy()
			Apply(want[i], deepCopyInputs(in))
		}
		var wg sync.WaitGroup
		for _, p := range pods {
			wg.Go(func() {
				Apply(p, in)
				Validate(p, in)
			})
		}
		wg.Wait()
		for i := range pods {
			if !reflect.DeepEqual(pods[i], want[i]) {
				t.Fatalf("pod %d defaulted concurrently differs from alone: %s", i, cmp.Diff(want[i], pods[i]))
			}
		}
		if !reflect.DeepEqual(in, inBefore) {
			t.Fatalf("Apply or Validate wrote into the shared inputs: %s", cmp.Diff(inBefore, in))
		}
	}
}

// masked is a copy of p without what Apply may write: the defaulted
// annotation and every container's resources.
func masked(p *corev1.Pod) *corev1.Pod {
	m := p.DeepCopy()
	delete(m.Annotations, AnnotationDefaulted)
	if len(m.Annotations) == 0 {
		m.Annotations = nil // Apply may have created the map
	}
	for i := range m.Spec.Containers {
		m.Spec.Containers[i].Resources = corev1.ResourceRequirements{}
	}
	for i := range m.Spec.InitContainers {
		m.Spec.InitContainers[i].Resources = corev1.ResourceRequirements{}
	}
	return m
}

func deepCopyInputs(in Inputs) Inputs {
	out := Inputs{}
	for _, lr := range in.LimitRanges {
		out.LimitRanges = append(out.LimitRanges, *lr.DeepCopy())
	}
	for _, p := range in.Profiles {
		items := make([]corev1.LimitRangeItem, len(p.Limits))
		for i := range p.Limits {
			p.Limits[i].DeepCopyInto(&items[i])
		}
		out.Profiles = append(out.Profiles, Profile{Name: p.Name, Limits: items})
	}
	return out
}

var (
	genNames = []corev1.ResourceName{"cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "example.com/gpu"}
	// Includes values held as *inf.Dec (beyond int64), which a copied
	// Quantity shares, and spellings that canonicalize differently.
	genValues = []string{"0", "100m", "1", "2", "1.5", "0.5Gi", "128Mi", "1Gi", "100000000000000000000000", "1e3"}
)

func genList(rng *rand.Rand) corev1.ResourceList {
	switch rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return corev1.ResourceList{}
	}
	l := corev1.ResourceList{}
	for range 1 + rng.IntN(3) {
		l[genNames[rng.IntN(len(genNames))]] = resource.MustParse(genValues[rng.IntN(len(genValues))])
	}
	return l
}

func genPod(rng *rand.Rand) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"app": "x"}}}
	switch rng.IntN(5) {
	case 1:
		p.Annotations = map[string]string{}
	case 2:
		p.Annotations = map[string]string{"other": "x"}
	case 3:
		p.Annotations = map[string]string{AnnotationDefaulted: "cpu request for container c0; junk"}
	case 4:
		p.Annotations = map[string]string{AnnotationDefaulted: "memory limit for init container i0", "other": "y"}
	}
	always := corev1.ContainerRestartPolicyAlways
	gen := func(prefix string, i int) corev1.Container {
		c := corev1.Container{Name: fmt.Sprintf("%s%d", prefix, i), Image: "busybox", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}
		c.Resources.Requests, c.Resources.Limits = genList(rng), genList(rng)
		if rng.IntN(8) == 0 {
			c.Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}}
		}
		return c
	}
	for i := range rng.IntN(4) {
		p.Spec.Containers = append(p.Spec.Containers, gen("c", i))
	}
	for i := range rng.IntN(3) {
		c := gen("i", i)
		if rng.IntN(2) == 0 {
			c.RestartPolicy = &always
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	if rng.IntN(4) == 0 {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: genList(rng), Limits: genList(rng)}
	}
	if rng.IntN(4) == 0 {
		p.Spec.Overhead = genList(rng)
	}
	if rng.IntN(4) == 0 {
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "busybox"}}}
	}
	return p
}

func genItems(rng *rand.Rand) []corev1.LimitRangeItem {
	types := []corev1.LimitType{corev1.LimitTypeContainer, corev1.LimitTypeContainer, corev1.LimitTypePod, corev1.LimitTypePersistentVolumeClaim}
	var items []corev1.LimitRangeItem
	for range 1 + rng.IntN(3) {
		items = append(items, corev1.LimitRangeItem{
			Type: types[rng.IntN(len(types))], Min: genList(rng), Max: genList(rng),
			Default: genList(rng), DefaultRequest: genList(rng), MaxLimitRequestRatio: genList(rng),
		})
	}
	return items
}

func genInputs(rng *rand.Rand) Inputs {
	var in Inputs
	for range rng.IntN(4) {
		items := genItems(rng)
		if rng.IntN(2) == 0 { // as the informer stores it
			for i := range items {
				items[i] = defaultedItem(items[i])
			}
		}
		in.LimitRanges = append(in.LimitRanges, corev1.LimitRange{
			ObjectMeta: metav1.ObjectMeta{Name: string(rune('a' + rng.IntN(4)))},
			Spec:       corev1.LimitRangeSpec{Limits: items},
		})
	}
	for i := range rng.IntN(3) {
		in.Profiles = append(in.Profiles, Profile{Name: fmt.Sprintf("p%d", i), Limits: genItems(rng)})
	}
	return in
}
