package policy

import (
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/policies"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

type podOption func(*corev1.Pod)

func pod(opts ...podOption) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func container(name, image string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: image})
	}
}

func containerPull(name, image string, pull corev1.PullPolicy) podOption {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: image, ImagePullPolicy: pull})
	}
}

func initContainer(name, image string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: name, Image: image})
	}
}

func ephemeral(name, image string) podOption {
	return func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: image},
		})
	}
}

func create(p *corev1.Pod) Input {
	return Input{Request: Request{Operation: "CREATE", Namespace: p.Namespace, Name: p.Name}, Object: p}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{corev1.LabelMetadataName: name}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func shipped(t testing.TB) *Engine {
	t.Helper()
	e, err := New(t.Context(), policies.FS)
	if err != nil {
		t.Fatalf("New(policies.FS): %v", err)
	}
	return e
}

func engineFrom(t testing.TB, files map[string]string) *Engine {
	t.Helper()
	e, err := New(t.Context(), mapFS(files))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}

func registries(patterns ...string) Rule {
	ps := make([]any, len(patterns))
	for i, p := range patterns {
		ps[i] = p
	}
	return Rule{Parameters: map[string]any{"registries": ps}}
}
