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
// spec.extra is unknown to the typed Pod; the cpu limit is what defaults add.
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

// TestPoliciesSeeTheTypedPod: policies see the Pods in their typed (API)
// form, without managedFields, the same on the validating webhook's path
// and under `tollgate eval`; once a Pod is defaulted they see the defaults.
func TestPoliciesSeeTheTypedPod(t *testing.T) {
	p := newPipelineWith(t, "team", fstest.MapFS{"form.rego": {Data: []byte(formPolicy)}}, pipeline.Options{})
	tests := map[string]struct {
		op   admissionv1.Operation
		run  func(t *testing.T, ar *admissionv1.AdmissionRequest) []string
		want []string
	}{
		"webhook create": {op: admissionv1.Create, run: validate(p, false), want: nil},
		"webhook update": {op: admissionv1.Update, run: validate(p, false), want: nil},
		"defaulted":      {op: admissionv1.Create, run: validate(p, true), want: []string{"cpu limit 500m"}},
		"eval create":    {op: admissionv1.Create, run: review(p), want: []string{"cpu limit 500m"}},
		"eval update":    {op: admissionv1.Update, run: review(p), want: nil},
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
// defaulting the decoded Pod when defaulted is set.
func validate(p *pipeline.Pipeline, defaulted bool) func(*testing.T, *admissionv1.AdmissionRequest) []string {
	return func(t *testing.T, ar *admissionv1.AdmissionRequest) []string {
		req, err := pipeline.Decode(ar)
		if err != nil {
			t.Fatal(err)
		}
		pod, old := req.Pod, req.OldPod
		if defaulted {
			if _, err := p.Default(t.Context(), req, pod); err != nil {
				t.Fatal(err)
			}
		}
		v, err := p.Validate(t.Context(), req, pod, old)
		if err != nil {
			t.Fatal(err)
		}
		return v.WarningMessages()
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
