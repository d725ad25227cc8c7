package imagepin

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkMutateTenImages is the mutating path for a Pod with 10 tagged
// images of a pinned registry, tag cache warm (what a burst of replicas
// of one Deployment costs after its first Pod), against the same Pod in a
// pipeline whose pinning rule selects another registry (no lookup at all).
func BenchmarkMutateTenImages(b *testing.B) {
	host, ca, _ := privateRegistry(b)
	tr := &http.Transport{TLSClientConfig: httptestTLS(b, ca)}
	pod := &corev1.Pod{Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}}}}
	for i := range 10 {
		image := fmt.Sprintf("%s/team/app%d:1.0", host, i)
		push(b, image, tr)
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: image})
	}
	secret := pullSecret(host)
	for _, bc := range []struct {
		name  string
		rules string
	}{{"pinned", host}, {"unselected", "registry.example.com"}} {
		b.Run(bc.name, func(b *testing.B) {
			p, _, _ := pinPipelineFor(b, host, ca, "pullSecrets", bc.rules, secret)
			ctx := context.Background()
			warm := pod.DeepCopy()
			if _, err := p.Mutate(ctx, create(warm), warm); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cp := pod.DeepCopy()
				if _, err := p.Mutate(ctx, create(cp), cp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
