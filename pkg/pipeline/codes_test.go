package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// brokenTargets cannot read any workload.
type brokenTargets struct{}

func (brokenTargets) Workload(context.Context, metav1.GroupVersionResource, string, string) (*workload.Workload, error) {
	return nil, errors.New("connection refused")
}

const hugePod = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1E1000000000"}}}]}}`

const hugeDeployment = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team"},
  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1E1000000000"}}}]}}}}`

func scaleTo(n string) []byte {
	return []byte(`{"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web", "namespace": "team"}, "spec": {"replicas": ` + n + `}}`)
}

// TestPipelineWarningCodes: the warnings the pipeline adds itself carry
// their codes: a quantity too large to compute with, on a Pod and on a
// workload, and a scale whose target could not be read.
func TestPipelineWarningCodes(t *testing.T) {
	p := newPipeline(t, "team", pipeline.Options{Targets: brokenTargets{}})
	deployments := metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	tests := map[string]struct {
		ar   admissionv1.AdmissionRequest
		want string
	}{
		"pod with a huge quantity": {
			ar: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
				Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Operation: admissionv1.Create,
				Namespace: "team", Object: runtime.RawExtension{Raw: []byte(hugePod)}},
			want: verdict.CodeUncomputable,
		},
		"deployment with a huge quantity": {
			ar: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
				Resource: deployments, Operation: admissionv1.Create, Namespace: "team", Name: "web",
				Object: runtime.RawExtension{Raw: []byte(hugeDeployment)}},
			want: verdict.CodeUncomputable,
		},
		"scale of an unreadable target": {
			ar: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"},
				Resource: deployments, SubResource: "scale", Operation: admissionv1.Update, Namespace: "team", Name: "web",
				Object: runtime.RawExtension{Raw: scaleTo("5")}, OldObject: runtime.RawExtension{Raw: scaleTo("3")}},
			want: pipeline.CodeScaleUnchecked,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := pipeline.Decode(&tc.ar)
			if err != nil {
				t.Fatal(err)
			}
			var v verdict.Verdict
			if req.IsWorkload() {
				v, err = p.ValidateWorkload(t.Context(), req)
			} else {
				v, err = p.Validate(t.Context(), req, req.Pod, req.OldPod)
			}
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, w := range v.Warnings {
				codes = append(codes, w.Code)
			}
			if diff := cmp.Diff([]string{tc.want}, codes); diff != "" {
				t.Errorf("warning codes (-want +got):\n%s\nwarnings: %q", diff, v.WarningMessages())
			}
		})
	}
}
