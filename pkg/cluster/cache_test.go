package cluster

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rl(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func sameMap(a, b corev1.ResourceList) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestInternerSharesEqualListsOnly(t *testing.T) {
	in := NewInterner(100)
	lr := func(ns, cpu string) *corev1.LimitRange {
		return &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "lr", Namespace: ns}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: rl("cpu", cpu, "memory", "512Mi"), Max: rl("cpu", "4"),
		}}}}
	}
	a, b, c := lr("a", "500m"), lr("b", "500m"), lr("c", "1")
	want := a.DeepCopy()
	for _, o := range []*corev1.LimitRange{a, b, c} {
		if _, err := in.Transform(o); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("transform changed the object: %+v", a)
	}
	if !sameMap(a.Spec.Limits[0].Default, b.Spec.Limits[0].Default) || !sameMap(a.Spec.Limits[0].Max, c.Spec.Limits[0].Max) {
		t.Error("equal lists are not shared")
	}
	if sameMap(a.Spec.Limits[0].Default, c.Spec.Limits[0].Default) {
		t.Error("different lists are shared")
	}

	q := func(used string) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "10")},
			Status: corev1.ResourceQuotaStatus{Hard: rl("pods", "10"), Used: rl("pods", used)}}
	}
	q1, q2 := q("1"), q("1")
	_, _ = in.Transform(q1)
	_, _ = in.Transform(q2)
	if !sameMap(q1.Spec.Hard, q2.Status.Hard) {
		t.Error("quota hard lists are not shared")
	}
	if !sameMap(q1.Status.Used, q2.Status.Used) {
		t.Error("equal usages are not shared")
	}
	q3 := q("2")
	_, _ = in.Transform(q3)
	if sameMap(q1.Status.Used, q3.Status.Used) {
		t.Error("different usages are shared")
	}
}

func TestInternerSharesStrings(t *testing.T) {
	in := NewInterner(100)
	ns := func(name string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			corev1.LabelMetadataName: strings.Clone(name), strings.Clone("team"): strings.Clone("payments"),
		}}}
	}
	a, b := ns("a"), ns("b")
	want := a.DeepCopy()
	_, _ = in.Transform(a)
	_, _ = in.Transform(b)
	if !reflect.DeepEqual(a, want) {
		t.Errorf("transform changed the namespace: %+v", a)
	}
	if unsafe.StringData(a.Labels["team"]) != unsafe.StringData(b.Labels["team"]) {
		t.Error("equal label values are not shared")
	}
	if unsafe.StringData(a.Labels[corev1.LabelMetadataName]) != unsafe.StringData(a.Name) {
		t.Error("the metadata.name label does not share the namespace's name")
	}
}

func TestInternerIsBounded(t *testing.T) {
	in := NewInterner(2)
	for _, cpu := range []string{"1", "2", "3", "4"} {
		_, _ = in.Transform(&corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: rl("cpu", cpu)}})
	}
	if len(in.lists) > 2 {
		t.Errorf("%d lists held, max 2", len(in.lists))
	}
}
