package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	before := `tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="0.0005"} 10
tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="0.001"} 10
tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="+Inf"} 10
`
	// 100 new observations: 60 under 0.5 ms, 38 in (0.5, 1] ms, 2 above.
	after := `tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="0.0005"} 40
tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="0.001"} 60
tollgate_webhook_request_duration_seconds_bucket{webhook="/mutate-v1-pod",le="+Inf"} 62
tollgate_webhook_request_duration_seconds_bucket{webhook="/validate-v1-pod",le="0.0005"} 30
tollgate_webhook_request_duration_seconds_bucket{webhook="/validate-v1-pod",le="0.001"} 48
tollgate_webhook_request_duration_seconds_bucket{webhook="/validate-v1-pod",le="+Inf"} 48
`
	b := bucketDelta(before, after, "tollgate_webhook_request_duration_seconds_bucket{")
	if b[0.0005] != 60 || b[0.001] != 98 || b[math.Inf(1)] != 100 {
		t.Fatalf("bucket deltas = %v", b)
	}
	// The 50th observation is 50/60 of the way into the first bucket.
	near := func(got time.Duration, wantSeconds float64) bool {
		return math.Abs(got.Seconds()-wantSeconds) < 1e-9
	}
	if got, want := histogramQuantile(0.5, b), 0.0005*50/60; !near(got, want) {
		t.Errorf("p50 = %v, want %gs", got, want)
	}
	// The 80th is 20/38 of the way from 0.5 to 1 ms.
	if got, want := histogramQuantile(0.8, b), 0.0005+0.0005*20/38; !near(got, want) {
		t.Errorf("p80 = %v, want %gs", got, want)
	}
	// The 99th is past the last finite bound: reported as that bound.
	if got, want := histogramQuantile(0.99, b), time.Millisecond; got != want {
		t.Errorf("p99 = %v, want %v", got, want)
	}
	if got := histogramQuantile(0.99, map[float64]float64{}); got != 0 {
		t.Errorf("empty histogram p99 = %v, want 0", got)
	}
}
