package policy

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// benchPod is a realistic Pod: three containers of different kinds with
// resources, env and labels.
func benchPod() *corev1.Pod {
	p := pod(
		initContainer("setup", "ghcr.io/acme/setup:1.2.0"),
		containerPull("app", "ghcr.io/acme/app:1.4.2@sha256:"+hex64, corev1.PullIfNotPresent),
		containerPull("proxy", "docker.io/library/nginx:1.27", corev1.PullAlways),
	)
	p.Labels = map[string]string{"app": "web", "tier": "frontend", "team": "a"}
	for i := range p.Spec.Containers {
		c := &p.Spec.Containers[i]
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
		for j := range 5 {
			c.Env = append(c.Env, corev1.EnvVar{Name: fmt.Sprintf("VAR_%d", j), Value: "value"})
		}
	}
	return p
}

func benchSettings() Settings {
	return Settings{Rules: map[string]Rule{
		"allowed-registries": registries("ghcr.io/acme/*", "docker.io/library"),
		"disallowed-tags":    {},
		"require-digest":     {Action: "warn"},
		"pull-policy-always": {Action: "deny"},
	}}
}

func BenchmarkEvaluate(b *testing.B) {
	in := create(benchPod())
	in.Namespace = namespace("team-a", nil)

	b.Run("shipped", func(b *testing.B) {
		e := shipped(b)
		s := benchSettings()
		benchEvaluate(b, e, in, s, 1)
	})
	// Replicas: every request is a new Pod (name, uid) with the same spec,
	// so only part of the input repeats from one request to the next.
	b.Run("shipped-replicas", func(b *testing.B) {
		e := shipped(b)
		s := benchSettings()
		pods := make([]Input, 1000)
		for i := range pods {
			p := benchPod()
			p.Name, p.UID = fmt.Sprintf("web-%d", i), types.UID(fmt.Sprintf("uid-%d", i))
			pods[i] = create(p)
			pods[i].Namespace = in.Namespace
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := e.Evaluate(b.Context(), pods[i%len(pods)], s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("shipped-parallel", func(b *testing.B) {
		e := shipped(b)
		s := benchSettings()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.Evaluate(b.Context(), in, s); err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("generated-50", func(b *testing.B) {
		files := map[string]string{}
		for i := range 50 {
			files[fmt.Sprintf("p%02d.rego", i)] = fmt.Sprintf(`package tollgate.generated_%02d

deny contains {"msg": sprintf("container %%q image %%q is on deny list %d", [c.name, c.image]), "path": sprintf("spec.containers[%%d].image", [i])} if {
	some i, c in input.object.spec.containers
	ref := tollgate.image.parse(c.image)
	ref.repository == "acme/forbidden-%d"
}

warn contains sprintf("label %d missing on %%s", [input.request.name]) if {
	not input.object.metadata.labels["x-%d"]
	input.parameters.strict
}
`, i, i, i, i, i)
		}
		e := engineFrom(b, files)
		benchEvaluate(b, e, in, Settings{}, 0)
	})
}

func benchEvaluate(b *testing.B, e *Engine, in Input, s Settings, wantReasons int) {
	b.Helper()
	v, err := e.Evaluate(b.Context(), in, s)
	if err != nil {
		b.Fatal(err)
	}
	if len(v.Reasons) != wantReasons {
		b.Fatalf("%d reasons, want %d: %+v", len(v.Reasons), wantReasons, v)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.Evaluate(b.Context(), in, s); err != nil {
			b.Fatal(err)
		}
	}
}
