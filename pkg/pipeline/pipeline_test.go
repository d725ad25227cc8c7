package pipeline_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/policies"
)

const limitRange = `apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: %s}
spec:
  limits:
  - type: Container
    default: {cpu: 500m}
    defaultRequest: {cpu: 100m}
    max: {cpu: "1"}
`

func newPipeline(t *testing.T, ns string, opts pipeline.Options) *pipeline.Pipeline {
	t.Helper()
	return newPipelineWith(t, ns, policies.FS, opts)
}

// newPipelineWith is newPipeline with the policies in fsys.
func newPipelineWith(t *testing.T, ns string, fsys fs.FS, opts pipeline.Options) *pipeline.Pipeline {
	t.Helper()
	facts := cluster.NewStatic()
	if err := facts.AddYAML([]byte(replaceNS(limitRange, ns)), "test"); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(facts, &pipeline.State{Config: config.Default(), Policies: engine}, opts)
}

func replaceNS(s, ns string) string { return strings.ReplaceAll(s, "%s", ns) }

func pod(cpuLimit string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
	if cpuLimit != "" {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLimit)}
	}
	return p
}

// TestWhatIsActedOn follows upstream: defaults on CREATE and pods/resize
// only; never in Tollgate's own namespace; other subresources untouched.
func TestWhatIsActedOn(t *testing.T) {
	tests := map[string]struct {
		req         pipeline.Request
		wantDefault bool
		wantDenied  bool // the pod's 2-cpu limit is above the LimitRange max
	}{
		"create":                  {req: pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "team"}}, wantDefault: true, wantDenied: true},
		"own namespace":           {req: pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "tollgate-system"}}},
		"plain update":            {req: pipeline.Request{Request: policy.Request{Operation: "UPDATE", Namespace: "team"}}},
		"resize":                  {req: pipeline.Request{Request: policy.Request{Operation: "UPDATE", SubResource: "resize", Namespace: "team"}}, wantDefault: true, wantDenied: true},
		"status":                  {req: pipeline.Request{Request: policy.Request{Operation: "UPDATE", SubResource: "status", Namespace: "team"}}},
		"ephemeral containers":    {req: pipeline.Request{Request: policy.Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Namespace: "team"}}},
		"delete":                  {req: pipeline.Request{Request: policy.Request{Operation: "DELETE", Namespace: "team"}}},
		"create with subresource": {req: pipeline.Request{Request: policy.Request{Operation: "CREATE", SubResource: "binding", Namespace: "team"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := tc.req.Namespace
			p := newPipeline(t, ns, pipeline.Options{OwnNamespace: "tollgate-system"})
			fresh := pod("")
			fresh.Namespace = ns
			res, err := p.Default(t.Context(), tc.req, fresh)
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed != tc.wantDefault {
				t.Errorf("defaulted=%v, want %v", res.Changed, tc.wantDefault)
			}
			big := pod("2")
			big.Namespace = ns
			var old *corev1.Pod
			if tc.req.Operation == "UPDATE" {
				old = big.DeepCopy()
			}
			req := tc.req.WithPod(big)
			req.OldPod = old
			v, err := p.Validate(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Allowed() != tc.wantDenied {
				t.Errorf("denied=%v, want %v: %+v", !v.Allowed(), tc.wantDenied, v)
			}
		})
	}
}

type failingFacts struct{ *cluster.Static }

func (failingFacts) LimitRanges(context.Context, string) ([]corev1.LimitRange, error) {
	return nil, errors.New("cache not synced")
}

// TestFactErrorsAreMalfunctions: an unreadable cache is an error (the
// webhook's failurePolicy decides), never a silent allow or a denial.
func TestFactErrorsAreMalfunctions(t *testing.T) {
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(failingFacts{cluster.NewStatic()}, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	req := pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "team"}}
	if _, err := p.Default(t.Context(), req, pod("")); err == nil {
		t.Error("Default: want an error when limit ranges cannot be read")
	}
	if _, err := p.Validate(t.Context(), req.WithPod(pod(""))); err == nil {
		t.Error("Validate: want an error when limit ranges cannot be read")
	}
}
