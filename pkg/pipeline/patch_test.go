package pipeline_test

import (
	"encoding/json"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
)

// TestPatchTouchesOnlyWhatChanged: fields the decisions never read (here
// managedFields, which Decode drops, and an unknown field) are not removed
// by the patch, and a value spelled differently is not rewritten.
func TestPatchTouchesOnlyWhatChanged(t *testing.T) {
	raw := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a",
		"managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{}}]},
		"spec":{"futureField":true,"containers":[{"name":"c","image":"i","resources":{"requests":{"memory":"0.5Gi"}}}]}}`)
	_, pod, _, err := pipeline.Decode(&admissionv1.AdmissionRequest{
		Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "a", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if pod.ManagedFields != nil {
		t.Fatal("Decode kept managedFields")
	}
	mutated := pod.DeepCopy()
	mutated.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	ops, err := pipeline.Patch(raw, pod, mutated)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ops)
	want := `[{"op":"add","path":"/spec/containers/0/resources/limits","value":{"cpu":"1"}}]`
	if string(got) != want {
		t.Fatalf("patch %s, want %s", got, want)
	}
}
