package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	tgcluster "github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

// cmdFlood: one namespace floods the Pod validating webhook with large
// dry-run Pods while another makes small Pod creates one after another;
// prints the small creates' latency without the flood, with it and no
// bound, and with it under webhook.Bound (the serve defaults). In process,
// so it measures Tollgate's own scheduling of work, not the network.
func cmdFlood(args []string) error {
	fs := flag.NewFlagSet("flood", flag.ExitOnError)
	labels := fs.Int("labels", 15000, "labels on each flood Pod")
	flooders := fs.Int("flooders", 32, "flood requests in flight at once")
	dur := fs.Duration("duration", 15*time.Second, "length of each run")
	maxInFlight := fs.Int("max-inflight", 16, "webhook.Bound Max in the bounded run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctrl.SetLogger(logr.Discard()) // every shed request logs an error
	engine, err := policy.New(context.Background(), policies.FS)
	if err != nil {
		return err
	}
	p := pipeline.New(tgcluster.NewStatic(), &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	validator := &webhook.PodValidator{Pipeline: p}
	big := floodReview(bigPod(*labels), "flood", true)
	small := floodReview(bigPod(3), "small", false)
	closed := func() string { return "closed" }
	for _, run := range []struct {
		name  string
		flood bool
		bound *webhook.Bound
	}{
		{"no flood", false, nil},
		{"flood, no bound", true, nil},
		{fmt.Sprintf("flood, bound %d (%d per namespace), deadline 4s", *maxInFlight, max(1, *maxInFlight/4)), true, &webhook.Bound{Max: *maxInFlight, Deadline: 4 * time.Second}},
	} {
		var h admission.Handler = validator
		if run.bound != nil {
			h = run.bound.Wrap("validate", nil, closed, validator)
		}
		lat, floods, refused := floodRun(&admission.Webhook{Handler: h}, big, small, run.flood, *flooders, *dur)
		slices.Sort(lat)
		fmt.Printf("%-45s small creates: n=%d p50=%v p99=%v max=%v; flood requests answered=%d (shed or late=%d)\n",
			run.name, len(lat), pct(lat, 0.5), pct(lat, 0.99), lat[len(lat)-1], floods, refused)
	}
	return nil
}

func floodRun(h http.Handler, big, small []byte, flood bool, flooders int, dur time.Duration) (lat []time.Duration, floods, refused int64) {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	if flood {
		for range flooders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if !floodPost(h, big) {
						atomic.AddInt64(&refused, 1)
					}
					atomic.AddInt64(&floods, 1)
				}
			}()
		}
		time.Sleep(500 * time.Millisecond) // let the flood build up
	}
	for ctx.Err() == nil {
		start := time.Now()
		floodPost(h, small)
		lat = append(lat, time.Since(start))
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	return lat, floods, refused
}

// floodPost serves one review and reports whether it was decided (not a
// malfunction answer).
func floodPost(h http.Handler, body []byte) bool {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	var out admissionv1.AdmissionReview
	if json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Response == nil {
		return false
	}
	return out.Response.Allowed || out.Response.Result == nil || len(out.Response.Result.Details.Causes) == 0 ||
		out.Response.Result.Details.Causes[0].Type != webhook.CodeMalfunction
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func bigPod(labels int) *corev1.Pod {
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example.com/team-a/app:1.4.2", ImagePullPolicy: corev1.PullIfNotPresent,
		}}},
	}
	for i := range labels {
		pod.Labels[fmt.Sprintf("example.com/label-%06d", i)] = "v"
	}
	return pod
}

func floodReview(pod *corev1.Pod, ns string, dryRun bool) []byte {
	pod.Namespace = ns
	raw, _ := json.Marshal(pod)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "flood", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: ns, Name: "p", Operation: admissionv1.Create, DryRun: &dryRun, Object: runtime.RawExtension{Raw: raw},
		},
	})
	return body
}
