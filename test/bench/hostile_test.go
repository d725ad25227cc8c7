package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

// BenchmarkHostile serves hostile but valid Pods through the Pod validating
// webhook's full handler (decode, limits, quota, shipped policies, answer),
// at three sizes each, so time and memory per size show how cost grows:
// labels on CREATE, containers on UPDATE (policies compare old and new
// containers), and a body of about 3 MB.
func BenchmarkHostile(b *testing.B) {
	engine, err := policy.New(context.Background(), policies.FS)
	if err != nil {
		b.Fatal(err)
	}
	p := pipeline.New(cluster.NewStatic(), &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	h := &admission.Webhook{Handler: &webhook.PodValidator{Pipeline: p}}
	cases := []struct {
		name string
		body func() []byte
	}{}
	for _, n := range []int{15000, 50000, 150000} {
		cases = append(cases, struct {
			name string
			body func() []byte
		}{fmt.Sprintf("labels=%d", n), func() []byte { return review(b, "CREATE", labelled(n), nil) }})
	}
	for _, n := range []int{500, 1500, 5000} {
		cases = append(cases, struct {
			name string
			body func() []byte
		}{fmt.Sprintf("update-containers=%d", n), func() []byte { pod := containers(n); return review(b, "UPDATE", pod, containers(n)) }})
	}
	for _, mb := range []int{1, 3} {
		cases = append(cases, struct {
			name string
			body func() []byte
		}{fmt.Sprintf("body=%dMB", mb), func() []byte { return review(b, "CREATE", annotated(mb<<20), nil) }})
	}
	for _, c := range cases {
		body := c.body()
		b.Run(c.name, func(b *testing.B) { serveEach(b, h, body, false) })
	}
}

// serveEach checks one answer (with a JSON patch when wantPatch), then
// times serving body b.N times.
func serveEach(b *testing.B, h http.Handler, body []byte, wantPatch bool) {
	rec := serve(h, body)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || rec.Code != http.StatusOK ||
		(wantPatch && len(out.Response.Patch) == 0) {
		b.Fatalf("bad answer %d (want patch: %v): %.300s", rec.Code, wantPatch, rec.Body.String())
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		serve(h, body)
	}
}

func basePod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "team-a"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example.com/team-a/app:1.4.2", ImagePullPolicy: corev1.PullIfNotPresent,
		}}},
	}
}

func labelled(n int) *corev1.Pod {
	p := basePod()
	p.Labels = make(map[string]string, n)
	for i := range n {
		p.Labels[fmt.Sprintf("example.com/label-%06d", i)] = "v"
	}
	return p
}

func containers(n int) *corev1.Pod {
	p := basePod()
	p.Spec.Containers = make([]corev1.Container, n)
	for i := range p.Spec.Containers {
		p.Spec.Containers[i] = corev1.Container{Name: fmt.Sprintf("c%05d", i), Image: "registry.example.com/team-a/app:1.4.2", ImagePullPolicy: corev1.PullIfNotPresent}
	}
	return p
}

func annotated(size int) *corev1.Pod {
	p := basePod()
	p.Annotations = map[string]string{}
	chunk := strings.Repeat("x", 4096)
	for i := 0; i*len(chunk) < size; i++ {
		p.Annotations[fmt.Sprintf("example.com/blob-%05d", i)] = chunk
	}
	return p
}

func review(b *testing.B, op string, pod, old *corev1.Pod) []byte {
	b.Helper()
	raw := func(p *corev1.Pod) runtime.RawExtension {
		if p == nil {
			return runtime.RawExtension{}
		}
		data, err := json.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		return runtime.RawExtension{Raw: data}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "bench", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "team-a", Name: "big", Operation: admissionv1.Operation(op), Object: raw(pod), OldObject: raw(old),
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}
