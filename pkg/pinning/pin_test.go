package pinning

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	reg = "127.0.0.1:5443"
	dA  = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	dB  = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func policy(t *testing.T, s Settings) *Policy {
	t.Helper()
	p, err := s.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func pod() *corev1.Pod {
	return &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: reg + "/tools:1.0"}},
		Containers: []corev1.Container{
			{Name: "app", Image: reg + "/team/app"},
			{Name: "pinned", Image: reg + "/team/app@" + dB},
			{Name: "hub", Image: "docker.io/library/nginx:1.27"},
		},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: reg + "/debug:v2"}}},
		Volumes:             []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: reg + "/data:7"}}}},
	}}
}

func TestCandidatesAreEveryTaggedReferenceTheRuleSelects(t *testing.T) {
	p := policy(t, Settings{Rules: []Rule{{Images: []string{reg}}}})
	var got []string
	for _, c := range p.Candidates(&pod().Spec, nil) {
		got = append(got, c.Image.Noun()+" "+c.Image.Name)
	}
	want := "image volume data, init container init, container app, ephemeral container debug"
	if strings.Join(got, ", ") != want {
		t.Fatalf("candidates %q, want %q (digests and unselected registries left out)", strings.Join(got, ", "), want)
	}
}

func TestNamespaceSelectorLimitsTheRule(t *testing.T) {
	p := policy(t, Settings{Rules: []Rule{{Images: []string{reg}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"pin": "yes"}}}}})
	if n := len(p.Candidates(&pod().Spec, labels.Set{"pin": "no"})); n != 0 {
		t.Errorf("%d candidates in an unselected namespace", n)
	}
	if n := len(p.Candidates(&pod().Spec, labels.Set{"pin": "yes"})); n != 4 {
		t.Errorf("%d candidates in a selected namespace, want 4", n)
	}
}

func TestApplyRewritesAndRecordsInTheAnnotation(t *testing.T) {
	p := policy(t, Settings{Rules: []Rule{{Images: []string{reg + "/team"}}}})
	po := pod()
	po.Annotations = map[string]string{"tollgate.dev/defaulted": "cpu request for container app"}
	cands := p.Candidates(&po.Spec, nil)
	out := p.Apply(po, cands, map[string]Resolution{reg + "/team/app": {Digest: dA}})
	if got, want := po.Spec.Containers[0].Image, reg+"/team/app:latest@"+dA; got != want {
		t.Errorf("image %q, want %q", got, want)
	}
	if po.Spec.InitContainers[0].Image != reg+"/tools:1.0" || po.Spec.Containers[2].Image != "docker.io/library/nginx:1.27" {
		t.Errorf("unselected images changed: %+v", po.Spec)
	}
	want := "cpu request for container app; image " + reg + "/team/app pinned to " + dA + " for container app"
	if got := po.Annotations["tollgate.dev/defaulted"]; got != want {
		t.Errorf("annotation %q, want %q", got, want)
	}
	if len(out.Pinned) != 1 || len(out.Warnings)+len(out.Denials) != 0 {
		t.Errorf("outcome %+v", out)
	}
	// Reinvocation: the reference now has a digest, nothing more to pin.
	if c := p.Candidates(&po.Spec, nil); len(c) != 0 {
		t.Errorf("pinned reference is a candidate again: %+v", c)
	}
}

func TestFailureDirection(t *testing.T) {
	fail := map[string]Resolution{reg + "/tools:1.0": {Err: errors.New("registry throttled (429)"), Transient: true}}
	for mode, check := range map[OnError]func(Outcome) bool{
		AdmitUnpinned: func(o Outcome) bool {
			return len(o.Denials) == 0 && len(o.Warnings) == 1 && o.Warnings[0].Code == WarnUnpinned && strings.Contains(o.Warnings[0].Message, "admitted unpinned: registry throttled (429)")
		},
		Deny: func(o Outcome) bool {
			return len(o.Warnings) == 0 && len(o.Denials) == 1 && strings.Contains(o.Denials[0].Message, "could not be pinned") && o.Denials[0].Path == "spec.initContainers[0].image"
		},
	} {
		p := policy(t, Settings{Rules: []Rule{{Images: []string{reg + "/tools"}}}, OnError: mode})
		po := pod()
		out := p.Apply(po, p.Candidates(&po.Spec, nil), fail)
		if !check(out) {
			t.Errorf("%s: outcome %+v", mode, out)
		}
		if po.Spec.InitContainers[0].Image != reg+"/tools:1.0" || po.Annotations != nil {
			t.Errorf("%s: a failed pin changed the Pod", mode)
		}
	}
}

func TestPinnedKeepsTheNameAsWritten(t *testing.T) {
	p := policy(t, Settings{Rules: []Rule{{Images: []string{"nginx"}}}})
	po := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}
	p.Apply(po, p.Candidates(&po.Spec, nil), map[string]Resolution{"nginx:1.27": {Digest: dA}})
	if got := po.Spec.Containers[0].Image; got != "nginx:1.27@"+dA {
		t.Errorf("image %q", got)
	}
}

func TestBadSettingsAreClearErrors(t *testing.T) {
	for name, s := range map[string]Settings{
		"onError":   {OnError: "maybe"},
		"ttl":       {TagTTL: metav1.Duration{Duration: 2 * MaxTagTTL}},
		"no images": {Rules: []Rule{{}}},
		"tag":       {Rules: []Rule{{Images: []string{reg + "/app:1"}}}},
		"selector":  {Rules: []Rule{{Images: []string{reg}, NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Nope"}}}}}},
	} {
		if _, err := s.Compile(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWouldPinListsWithoutTouchingTheTemplate(t *testing.T) {
	p := policy(t, Settings{Rules: []Rule{{Images: []string{reg}}}})
	po := pod()
	msg := p.WouldPin(&po.Spec, nil)
	if !strings.Contains(msg, reg+`/team/app (container "app")`) || po.Spec.Containers[0].Image != reg+"/team/app" {
		t.Errorf("message %q, image %q", msg, po.Spec.Containers[0].Image)
	}
}
