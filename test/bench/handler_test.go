// Package bench holds Tollgate's in-process benchmarks on the realistic
// workload of test/bench/workload: each decision alone, and the whole HTTP
// handler (admission.Webhook.ServeHTTP) against the echo floor. They never
// assert on time; `make bench-smoke` runs them briefly as a CI smoke test.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/tollgate-dev/tollgate/test/bench/echo"
	"github.com/tollgate-dev/tollgate/test/bench/workload"
)

func handlers(tb testing.TB, copyFacts bool) (*workload.Handlers, []workload.Request) {
	tb.Helper()
	h, err := workload.NewHandlers(context.Background(), workload.NewFacts(copyFacts))
	if err != nil {
		tb.Fatal(err)
	}
	mix, err := workload.Mix(context.Background(), h.Pipeline, workload.Namespace)
	if err != nil {
		tb.Fatal(err)
	}
	return h, mix
}

func serve(h http.Handler, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}

func check(tb testing.TB, h http.Handler, r workload.Request, wantAllowed bool) {
	tb.Helper()
	rec := serve(h, r.Body)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		tb.Fatalf("%s %s: bad answer %d %s: %v", r.Kind, r.Path, rec.Code, rec.Body.String(), err)
	}
	if out.Response.Allowed != wantAllowed {
		tb.Fatalf("%s %s: allowed=%v, want %v: %s", r.Kind, r.Path, out.Response.Allowed, wantAllowed, rec.Body.String())
	}
}

// BenchmarkHandler serves each review of the mix through the full
// controller-runtime handler: decode the AdmissionReview, run the decisions,
// encode the answer. "echo" is the floor: decode review and Pod, allow.
func BenchmarkHandler(b *testing.B) {
	h, mix := handlers(b, false)
	floor := echo.Webhook()
	for _, r := range mix {
		hook := http.Handler(h.Validate)
		if r.Path == "/mutate-v1-pod" {
			hook = h.Mutate
		}
		name := map[string]string{"/mutate-v1-pod": "mutate", "/validate-v1-pod": "validate"}[r.Path]
		b.Run("echo/"+name+"/"+string(r.Kind), func(b *testing.B) {
			check(b, floor, r, true)
			loop(b, floor, r.Body)
		})
		b.Run("tollgate/"+name+"/"+string(r.Kind), func(b *testing.B) {
			check(b, hook, r, r.WantAllowed)
			loop(b, hook, r.Body)
		})
	}
}

// BenchmarkCreate is what one Pod create costs Tollgate: the mutating and
// then the validating review, against two echo requests.
func BenchmarkCreate(b *testing.B) {
	h, mix := handlers(b, false)
	floor := echo.Webhook()
	for i := 0; i+1 < len(mix); i += 2 {
		m, v := mix[i], mix[i+1]
		b.Run("echo/"+string(m.Kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(m.Body) + len(v.Body)))
			for b.Loop() {
				serve(floor, m.Body)
				serve(floor, v.Body)
			}
		})
		b.Run("tollgate/"+string(m.Kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(m.Body) + len(v.Body)))
			for b.Loop() {
				serve(h.Mutate, m.Body)
				serve(h.Validate, v.Body)
			}
		})
	}
}

// BenchmarkCreateCopyingFacts is BenchmarkCreate/tollgate with facts that
// deep-copy on every read (the informer cache without UnsafeDisableDeepCopy).
func BenchmarkCreateCopyingFacts(b *testing.B) {
	h, mix := handlers(b, true)
	for i := 0; i+1 < len(mix); i += 2 {
		m, v := mix[i], mix[i+1]
		b.Run(string(m.Kind), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(h.Mutate, m.Body)
				serve(h.Validate, v.Body)
			}
		})
	}
}

// loop serves body b.N times; besides wall time it reports the process's
// CPU time per request (GC workers included), which a busy machine
// disturbs less than wall time.
func loop(b *testing.B, h http.Handler, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	start := cpuTime()
	for b.Loop() {
		serve(h, body)
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMix checks that every review of the workload gets the verdict the
// load generator expects from Tollgate, and that the echo floor allows all,
// so the benchmarks and load runs measure what they claim to.
func TestMix(t *testing.T) {
	h, mix := handlers(t, false)
	floor := echo.Webhook()
	for _, r := range mix {
		hook := http.Handler(h.Validate)
		if r.Path == "/mutate-v1-pod" {
			hook = h.Mutate
		}
		check(t, hook, r, r.WantAllowed)
		check(t, floor, r, true)
	}
}
