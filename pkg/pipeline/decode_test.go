package pipeline_test

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
)

// formPolicy reports what of input.object and input.oldObject it sees:
// spec.extra is unknown to the typed Pod, so only the JSON as sent carries
// it; the cpu limit is what defaults add.
const formPolicy = `package tollgate.form

warn contains sprintf("object.spec.extra=%v", [x]) if x := input.object.spec.extra
warn contains sprintf("oldObject.spec.extra=%v", [x]) if x := input.oldObject.spec.extra
warn contains sprintf("cpu limit %v", [x]) if x := input.object.spec.containers[0].resources.limits.cpu
warn contains "managedFields" if input.object.metadata.managedFields
warn contains "managedFields (old)" if input.oldObject.metadata.managedFields
`

const sentPod = `{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "p", "namespace": "team", "managedFields": [{"manager": "kubectl"}]},
  "spec": {"extra": "yes", "containers": [{"name": "app", "image": "nginx:1.27"}]}}`

// TestPoliciesSeeTheSentPod: on the validating webhook's path policies see
// the Pods as the API server sent them (less managedFields); once a Pod is
// defaulted, in place or in a copy as `tollgate eval` does, they see the
// typed Pod, never the JSON it was decoded from.
func TestPoliciesSeeTheSentPod(t *testing.T) {
	p := newPipelineWith(t, "team", fstest.MapFS{"form.rego": {Data: []byte(formPolicy)}}, pipeline.Options{})
	tests := map[string]struct {
		op   admissionv1.Operation
		run  func(t *testing.T, ar *admissionv1.AdmissionRequest) []string
		want []string
	}{
		"webhook create": {
			op:   admissionv1.Create,
			run:  validate(p, false),
			want: []string{"object.spec.extra=yes"},
		},
		"webhook update": {
			op:   admissionv1.Update,
			run:  validate(p, false),
			want: []string{"object.spec.extra=yes", "oldObject.spec.extra=yes"},
		},
		"defaulted in place": {
			op:   admissionv1.Create,
			run:  validate(p, true),
			want: []string{"cpu limit 500m"},
		},
		"eval create": {
			op:   admissionv1.Create,
			run:  review(p),
			want: []string{"cpu limit 500m"},
		},
		"eval update": { // not defaulted, but validated as a copy; the old Pod is unchanged
			op:   admissionv1.Update,
			run:  review(p),
			want: []string{"oldObject.spec.extra=yes"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ar := &admissionv1.AdmissionRequest{
				Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Operation: tc.op, Namespace: "team",
				Object: runtime.RawExtension{Raw: []byte(sentPod)},
			}
			if tc.op == admissionv1.Update {
				ar.OldObject = runtime.RawExtension{Raw: []byte(sentPod)}
			}
			var got []string
			for _, w := range tc.run(t, ar) {
				if s, ok := strings.CutPrefix(w, "[form] "); ok {
					got = append(got, s)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("policy saw %q, want %q", got, tc.want)
			}
		})
	}
}

// validate decodes and validates as the validating webhook does, after
// defaulting the decoded Pod in place when inPlace is set.
func validate(p *pipeline.Pipeline, inPlace bool) func(*testing.T, *admissionv1.AdmissionRequest) []string {
	return func(t *testing.T, ar *admissionv1.AdmissionRequest) []string {
		req, pod, old, err := pipeline.Decode(ar)
		if err != nil {
			t.Fatal(err)
		}
		if inPlace {
			if _, err := p.Default(t.Context(), req, pod); err != nil {
				t.Fatal(err)
			}
		}
		v, err := p.Validate(t.Context(), req, pod, old)
		if err != nil {
			t.Fatal(err)
		}
		return v.Warnings
	}
}

// review runs both webhooks' decisions as `tollgate eval` does.
func review(p *pipeline.Pipeline) func(*testing.T, *admissionv1.AdmissionRequest) []string {
	return func(t *testing.T, ar *admissionv1.AdmissionRequest) []string {
		out, err := p.Review(t.Context(), ar)
		if err != nil {
			t.Fatal(err)
		}
		return out.Warnings
	}
}
