package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

const (
	pinReg    = "registry.example.com"
	pinDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// fakeLookups answers every reference with one digest, or with err, and
// remembers what it was asked.
type fakeLookups struct {
	mu    sync.Mutex
	asked []string
	err   error
}

func (f *fakeLookups) Resolve(_ context.Context, _ string, _ *corev1.Pod, cands []pinning.Candidate) map[string]pinning.Resolution {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]pinning.Resolution{}
	for _, c := range cands {
		f.asked = append(f.asked, c.Ref.Original)
		if f.err != nil {
			out[c.Ref.Original] = pinning.Resolution{Err: f.err, Transient: true}
		} else {
			out[c.Ref.Original] = pinning.Resolution{Digest: pinDigest}
		}
	}
	return out
}

func pinState(t *testing.T, onError string, lookups pipeline.ImageLookups) *pipeline.Pipeline {
	t.Helper()
	cfg, err := config.Parse([]byte(`apiVersion: tollgate.dev/v1alpha1
kind: Config
registries: {access: [{pattern: ` + pinReg + `}]}
pinning: {onError: ` + onError + `, rules: [{images: [` + pinReg + `]}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	facts := cluster.NewStatic()
	facts.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}})
	return pipeline.New(facts, &pipeline.State{Config: cfg, Policies: engine, Lookups: lookups}, pipeline.Options{})
}

func twoImages() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "team"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "app", Image: pinReg + "/app:1.0"}, {Name: "hub", Image: "docker.io/library/nginx:1.27"},
	}}}
}

func createReq() pipeline.Request {
	return pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "team"}}
}

func TestMutatePinsSelectedTagsOnly(t *testing.T) {
	f := &fakeLookups{}
	p := pinState(t, "deny", f)
	pod := twoImages()
	m, err := p.Mutate(t.Context(), createReq(), pod)
	if err != nil || !m.Changed || !m.Verdict.Allowed() || len(m.Pinned) != 1 {
		t.Fatalf("mutation %+v, %v", m, err)
	}
	if got := pod.Spec.Containers[0].Image; got != pinReg+"/app:1.0@"+pinDigest {
		t.Errorf("image %q", got)
	}
	if pod.Spec.Containers[1].Image != "docker.io/library/nginx:1.27" || strings.Join(f.asked, ",") != pinReg+"/app:1.0" {
		t.Errorf("docker.io image %q, lookups asked %v; want it untouched and never asked", pod.Spec.Containers[1].Image, f.asked)
	}
}

func TestMutateDenyLeavesThePodAsWritten(t *testing.T) {
	p := pinState(t, "deny", &fakeLookups{err: errors.New("registry throttled")})
	pod := twoImages()
	m, err := p.Mutate(t.Context(), createReq(), pod)
	if err != nil || m.Verdict.Allowed() || m.Changed {
		t.Fatalf("mutation %+v, %v; want a denial and no change", m, err)
	}
	r := m.Verdict.Reasons[0]
	if r.Code != pinning.ReasonUnresolved || r.Path != "spec.containers[0].image" || !strings.Contains(r.Message, "registry throttled") {
		t.Errorf("reason %+v", r)
	}
	if pod.Spec.Containers[0].Image != pinReg+"/app:1.0" {
		t.Errorf("image changed to %q", pod.Spec.Containers[0].Image)
	}
}

func TestMutateOfflineSaysWhatWouldBePinned(t *testing.T) {
	p := pinState(t, "deny", nil)
	pod := twoImages()
	m, err := p.Mutate(t.Context(), createReq(), pod)
	if err != nil || m.Changed || !m.Verdict.Allowed() || len(m.Verdict.Warnings) != 1 {
		t.Fatalf("mutation %+v, %v", m, err)
	}
	if w := m.Verdict.Warnings[0]; w.Code != pinning.WarnOffline || !strings.Contains(w.Message, pinReg+`/app:1.0 (container "app")`) ||
		strings.Contains(w.Message, "nginx") || !strings.Contains(w.Message, "not offline (no registry is contacted)") {
		t.Errorf("warning %q", w)
	}
}

func TestMutatePinsOnlyNewEphemeralContainers(t *testing.T) {
	f := &fakeLookups{}
	p := pinState(t, "deny", f)
	old := twoImages()
	old.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg1", Image: pinReg + "/debug:1"}}}
	pod := old.DeepCopy()
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg2", Image: pinReg + "/debug:2"}})
	req := pipeline.Request{Request: policy.Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Namespace: "team"}, OldPod: old}
	m, err := p.Mutate(t.Context(), req, pod)
	if err != nil || len(m.Pinned) != 1 {
		t.Fatalf("mutation %+v, %v", m, err)
	}
	if pod.Spec.EphemeralContainers[1].Image != pinReg+"/debug:2@"+pinDigest || pod.Spec.EphemeralContainers[0].Image != pinReg+"/debug:1" ||
		pod.Spec.Containers[0].Image != pinReg+"/app:1.0" {
		t.Errorf("images %q %q %q: only the new ephemeral container may change", pod.Spec.EphemeralContainers[1].Image,
			pod.Spec.EphemeralContainers[0].Image, pod.Spec.Containers[0].Image)
	}
	plain := pipeline.Request{Request: policy.Request{Operation: "UPDATE", Namespace: "team"}, OldPod: old}
	if m, err := p.Mutate(t.Context(), plain, twoImages()); err != nil || m.Changed {
		t.Errorf("plain update: %+v, %v; want nothing pinned", m, err)
	}
}

func TestWorkloadFeedbackSaysWhatWillBePinned(t *testing.T) {
	f := &fakeLookups{}
	p := pinState(t, "deny", f)
	tmpl := &corev1.PodTemplateSpec{Spec: twoImages().Spec}
	w := &workload.Workload{Kind: "Deployment", Name: "web", Namespace: "team", Replicas: 1, Template: tmpl, TemplatePath: "spec.template"}
	req := pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "team"}, Workload: w}
	v, err := p.ValidateWorkload(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := `deployment "web": image tags will be pinned to digests in the Pods this creates (the template is left as written): ` + pinReg + `/app:1.0 (container "app")`
	if !slices.Contains(v.WarningMessages(), want) || !slices.ContainsFunc(v.Warnings, func(w verdict.Warning) bool { return w.Code == pinning.WarnWillPin }) || tmpl.Spec.Containers[0].Image != pinReg+"/app:1.0" || len(f.asked) != 0 {
		t.Errorf("warnings %q, template image %q, lookups %v; want %q, the template as written and no lookup", v.Warnings, tmpl.Spec.Containers[0].Image, f.asked, want)
	}
	// An update that leaves the images alone says nothing again.
	req.Operation, req.OldWorkload = "UPDATE", w
	if v, err = p.ValidateWorkload(t.Context(), req); err != nil || slices.Contains(v.WarningMessages(), want) {
		t.Errorf("unchanged images: warnings %q, %v", v.Warnings, err)
	}
}
