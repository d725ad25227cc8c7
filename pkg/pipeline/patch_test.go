package pipeline

import (
	"encoding/json"
	"slices"
	"testing"

	jsonpatchv5 "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
)

func decodeRaw(t *testing.T, raw string) *corev1.Pod {
	t.Helper()
	_, pod, _, err := Decode(&admissionv1.AdmissionRequest{
		Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "a", Operation: admissionv1.Create,
		Object: runtime.RawExtension{Raw: []byte(raw)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// TestPatchTouchesOnlyWhatChanged: fields the decisions never read (here
// managedFields, which Decode drops, and an unknown field) are not removed
// by the patch, and a value spelled differently is not rewritten.
func TestPatchTouchesOnlyWhatChanged(t *testing.T) {
	raw := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a",
		"managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{}}]},
		"spec":{"futureField":true,"containers":[{"name":"c","image":"i","resources":{"requests":{"memory":"0.5Gi"}}}]}}`
	pod := decodeRaw(t, raw)
	if pod.ManagedFields != nil {
		t.Fatal("Decode kept managedFields")
	}
	mutated := pod.DeepCopy()
	mutated.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	ops, err := Patch([]byte(raw), pod, mutated)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ops)
	want := `[{"op":"add","path":"/spec/containers/0/resources/limits","value":{"cpu":"1"}}]`
	if string(got) != want {
		t.Fatalf("patch %s, want %s", got, want)
	}
}

// TestPatchMatchesWholePodDiff: the patch restricted to what defaults write
// is the one the whole-Pod diff gives, on raw objects shaped every way the
// API server or a client may send them, and applying it to the raw object
// yields the mutated Pod.
func TestPatchMatchesWholePodDiff(t *testing.T) {
	q := resource.MustParse
	setDefaults := func(p *corev1.Pod) {
		for i := range p.Spec.Containers {
			r := &p.Spec.Containers[i].Resources
			if r.Limits == nil {
				r.Limits = corev1.ResourceList{}
			}
			r.Limits[corev1.ResourceCPU] = q("500m")
			if r.Requests == nil {
				r.Requests = corev1.ResourceList{}
			}
			r.Requests[corev1.ResourceMemory] = q("128Mi")
		}
		for i := range p.Spec.InitContainers {
			p.Spec.InitContainers[i].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: q("1")}
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations["tollgate.dev/defaulted"] = "cpu limit for container c"
	}
	tests := map[string]struct {
		raw    string
		mutate func(*corev1.Pod)
		whole  bool // the restricted diff must defer to the whole-Pod one
		// beyond is true when mutate writes outside what defaults report,
		// which PatchWritten is never given.
		beyond bool
	}{
		"no annotations, no resources": {
			raw:    `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`,
			mutate: setDefaults,
		},
		"empty annotations and resources": {
			raw:    `{"kind":"Pod","metadata":{"name":"p","annotations":{}},"spec":{"containers":[{"name":"c","image":"i","resources":{}}]}}`,
			mutate: setDefaults,
		},
		"null annotations and resources": {
			raw:    `{"kind":"Pod","metadata":{"name":"p","annotations":null},"spec":{"containers":[{"name":"c","image":"i","resources":null}]}}`,
			mutate: setDefaults,
		},
		"spellings, numbers and unknown fields kept": {
			raw: `{"kind":"Pod","metadata":{"name":"p","annotations":{"a":"b"}},"spec":{"x":[1,{"y":"}]"}],"containers":[
				{"name":"c","image":"i","resources":{"limits":{"memory":"0.5Gi","cpu":2},"requests":{"cpu":"1000m"},"future":1}},
				{"name":"d","image":"i","resources":{"limits":{"cpu":"500m"},"requests":{"memory":"128Mi"}}}],
				"initContainers":[{"name":"init","image":"i"}]}}`,
			mutate: setDefaults,
		},
		"only the annotation": {
			raw: `{"kind":"Pod","metadata":{"name":"p","annotations":{"tollgate.dev/defaulted":"old"}},"spec":{"containers":[]}}`,
			mutate: func(p *corev1.Pod) {
				p.Annotations["tollgate.dev/defaulted"] = "new"
			},
		},
		"escaped keys and whitespace": {
			raw: " {\n \"kind\" : \"Pod\" , \"metad\\u0061ta\" : { \"name\" : \"p\\\"q\" } ,\n \"spec\" : { \"containers\" : [ { \"name\" : \"c\" ," +
				" \"image\" : \"i\" , \"resource\\u0073\" : { \"limits\" : { \"cpu\" : \"1\" } } } ] } }\n",
			mutate: setDefaults,
		},
		"key spelled in another case": {
			raw:    `{"kind":"Pod","metadata":{"name":"p"},"spec":{"Containers":[{"name":"c","image":"i"}]}}`,
			mutate: setDefaults,
			whole:  true,
		},
		"repeated key": {
			raw:    `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"x","image":"i"},{"name":"y","image":"i"}],"containers":[{"name":"c","image":"i"}]}}`,
			mutate: setDefaults,
		},
		"something else changed too": {
			raw: `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}`,
			mutate: func(p *corev1.Pod) {
				setDefaults(p)
				p.Labels = map[string]string{"x": "y"}
				p.Spec.Containers[0].Image = "j"
			},
			whole:  true,
			beyond: true,
		},
		"nothing changed": {
			raw:    `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","resources":{"limits":{"cpu":"1"}}}]}}`,
			mutate: func(*corev1.Pod) {},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pod := decodeRaw(t, tc.raw)
			mutated := pod.DeepCopy()
			tc.mutate(mutated)
			ops, err := Patch([]byte(tc.raw), pod, mutated)
			if err != nil {
				t.Fatal(err)
			}
			whole, err := patchWhole([]byte(tc.raw), pod, mutated)
			if err != nil {
				t.Fatal(err)
			}
			if _, restricted, _ := patchDefaulted([]byte(tc.raw), pod, mutated, nil); restricted == tc.whole {
				t.Errorf("restricted diff used: %v, want %v", restricted, !tc.whole)
			}
			if !tc.beyond {
				reported, err := PatchWritten([]byte(tc.raw), pod, mutated, written(pod, mutated))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(opStrings(whole), opStrings(reported)); diff != "" {
					t.Fatalf("PatchWritten differs from the whole-Pod diff (-whole +got):\n%s", diff)
				}
			}
			if ops == nil {
				t.Fatal("nil patch; an empty one prints as []")
			}
			if diff := cmp.Diff(opStrings(whole), opStrings(ops)); diff != "" {
				t.Fatalf("patch differs from the whole-Pod diff (-whole +got):\n%s", diff)
			}
			body, _ := json.Marshal(ops)
			decoded, err := jsonpatchv5.DecodePatch(body)
			if err != nil {
				t.Fatal(err)
			}
			patched, err := decoded.Apply([]byte(tc.raw))
			if err != nil {
				t.Fatalf("apply %s: %v", body, err)
			}
			var got corev1.Pod
			if err := json.Unmarshal(patched, &got); err != nil {
				t.Fatal(err)
			}
			got.ManagedFields = nil
			if !equality.Semantic.DeepEqual(&got, mutated) {
				t.Fatalf("patched object differs from the mutated Pod: %s", cmp.Diff(mutated, &got))
			}
		})
	}
}

// written is the report defaults.Apply would give for mutated: the
// annotation and the containers whose resources differ.
func written(pod, mutated *corev1.Pod) defaults.Written {
	var w defaults.Written
	w.Annotation = !equality.Semantic.DeepEqual(pod.Annotations, mutated.Annotations)
	for i := range pod.Spec.Containers {
		if !equality.Semantic.DeepEqual(pod.Spec.Containers[i].Resources, mutated.Spec.Containers[i].Resources) {
			w.Containers = append(w.Containers, i)
		}
	}
	for i := range pod.Spec.InitContainers {
		if !equality.Semantic.DeepEqual(pod.Spec.InitContainers[i].Resources, mutated.Spec.InitContainers[i].Resources) {
			w.InitContainers = append(w.InitContainers, i)
		}
	}
	return w
}

// TestPatchWrittenReadsOnlyTheReport: fields outside the report are not
// compared, so a report that leaves a change out leaves it out of the patch
// (which is why Apply's report is held to exactly what it wrote).
func TestPatchWrittenReadsOnlyTheReport(t *testing.T) {
	raw := `{"kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"},{"name":"d","image":"i"}]}}`
	pod := decodeRaw(t, raw)
	mutated := pod.DeepCopy()
	mutated.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	mutated.Spec.Containers[1].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}
	ops, err := PatchWritten([]byte(raw), pod, mutated, defaults.Written{Containers: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ops)
	if want := `[{"op":"add","path":"/spec/containers/1/resources","value":{"limits":{"cpu":"2"}}}]`; string(got) != want {
		t.Fatalf("patch %s, want %s", got, want)
	}
	if _, ok, _ := patchDefaulted([]byte(raw), pod, mutated, &defaults.Written{Containers: []int{2}}); ok {
		t.Error("an index out of range was not left to the whole-Pod diff")
	}
}

func opStrings(ops []jsonpatch.JsonPatchOperation) []string {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		out = append(out, op.Json())
	}
	slices.Sort(out)
	return out
}
