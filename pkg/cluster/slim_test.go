package cluster

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
)

// meta is metadata as the API server serves it, with everything Slim may drop.
func meta(name, namespace string) metav1.ObjectMeta {
	now := metav1.Now()
	return metav1.ObjectMeta{
		Name: name, Namespace: namespace, UID: types.UID("6f1d2c3e-0000-4000-8000-000000000001"), ResourceVersion: "42",
		Generation: 3, CreationTimestamp: now, DeletionTimestamp: &now,
		Labels:          map[string]string{"team": "payments"},
		Annotations:     map[string]string{corev1.LastAppliedConfigAnnotation: `{"apiVersion":"v1"}`, "owner": "payments"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "u"}},
		Finalizers:      []string{"example.com/keep"},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
	}
}

func TestSlimKeepsWhatDecisionsRead(t *testing.T) {
	m := meta("x", "team-a")
	kept := metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion, Generation: m.Generation,
		CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp, Labels: m.Labels}
	spec := corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: rl("cpu", "500m")}}}
	q := corev1.ResourceQuota{ObjectMeta: m, Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "10")},
		Status: corev1.ResourceQuotaStatus{Hard: rl("pods", "10"), Used: rl("pods", "1")}}
	ns := corev1.Namespace{ObjectMeta: meta("team-a", ""), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	nsWant := *ns.DeepCopy()
	nsWant.ManagedFields = nil
	nsWant.Annotations = map[string]string{"owner": "payments"}

	tests := []struct {
		name    string
		in, out any
	}{
		{name: "LimitRange: metadata decisions never read goes", in: &corev1.LimitRange{ObjectMeta: m, Spec: spec},
			out: &corev1.LimitRange{ObjectMeta: kept, Spec: spec}},
		{name: "ResourceQuota: spec and status stay", in: q.DeepCopy(),
			out: &corev1.ResourceQuota{ObjectMeta: kept, Spec: q.Spec, Status: q.Status}},
		{name: "Namespace: only managed fields and last-applied go (policies see the rest)", in: ns.DeepCopy(), out: &nsWant},
		{name: "Namespace whose only annotation is last-applied", in: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n",
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{}"}}}, out: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "n"}}},
		{name: "tombstone passes unchanged", in: toolscache.DeletedFinalStateUnknown{Key: "a/b"}, out: toolscache.DeletedFinalStateUnknown{Key: "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Slim(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.out) {
				t.Errorf("Slim =\n%+v\nwant\n%+v", got, tt.out)
			}
			again, _ := Slim(got)
			if !reflect.DeepEqual(again, tt.out) {
				t.Errorf("Slim is not idempotent: %+v", again)
			}
		})
	}
}
