package tracing_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-dev/tollgate/pkg/tracing"
)

func TestCheckEndpoint(t *testing.T) {
	good := []string{"collector:4317", "otel-collector.observability.svc:4317", "10.0.0.1:4317", "[::1]:4317", "http://collector:4317", "https://collector.example.com:4317", "https://collector:4317/"}
	for _, s := range good {
		if err := tracing.CheckEndpoint(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := map[string]string{
		"collector":                       "want host:port",
		":4317":                           "no host",
		"collector:0":                     "not a number from 1 to 65535",
		"collector:otlp":                  "not a number from 1 to 65535",
		"collector:70000":                 "not a number from 1 to 65535",
		"http://collector:4317/v1/traces": "no path",
		"grpc://collector:4317":           "want host:port",
		"https://user:pw@collector:4317":  "credentials",
	}
	for s, want := range bad {
		err := tracing.CheckEndpoint(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", s, err, want)
		}
	}
}

func TestCheckSampleRatio(t *testing.T) {
	for _, r := range []float64{0, 0.25, 1} {
		if err := tracing.CheckSampleRatio(r); err != nil {
			t.Errorf("%v: %v", r, err)
		}
	}
	for _, r := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		if err := tracing.CheckSampleRatio(r); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
			t.Errorf("%v: error %v, want out of range", r, err)
		}
	}
}

// TestOffIsNothing: off, there is no provider and no tracer, and the nil
// provider's Shutdown is a no-op, so callers need no branches.
func TestOffIsNothing(t *testing.T) {
	tp, err := tracing.Start(t.Context(), tracing.Options{SampleRatio: 1})
	if err != nil || tp != nil {
		t.Fatalf("Start with no endpoint = %v, %v; want nil, nil", tp, err)
	}
	if tp.Tracer() != nil {
		t.Error("a nil provider has a tracer")
	}
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestStartAndStop builds the real OTLP exporter; nothing is dialled until
// a span is exported, so a collector that is not there costs nothing here.
func TestStartAndStop(t *testing.T) {
	tp, err := tracing.Start(t.Context(), tracing.Options{Endpoint: "127.0.0.1:4317", SampleRatio: 0.5, Version: "test"})
	if err != nil || tp == nil || tp.Tracer() == nil {
		t.Fatalf("Start = %v, %v", tp, err)
	}
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
	if _, err := tracing.Start(t.Context(), tracing.Options{Endpoint: "collector", SampleRatio: 1}); err == nil {
		t.Error("Start accepted an endpoint without a port")
	}
}

type keepSpans struct{ *tracetest.InMemoryExporter }

func (keepSpans) Shutdown(context.Context) error { return nil }

// TestShutdownFlushes: spans still queued in the batch processor are
// exported by Shutdown, named for the service, with OTEL_* variables
// honoured because tracing is on.
func TestShutdownFlushes(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.cluster.name=prod-1")
	exp := keepSpans{tracetest.NewInMemoryExporter()}
	tp, err := tracing.New(t.Context(), tracing.Options{Endpoint: "collector:4317", SampleRatio: 1, Version: "v1.2.3"}, exp)
	if err != nil {
		t.Fatal(err)
	}
	_, span := tp.Tracer().Start(t.Context(), "work")
	span.End()
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "work" {
		t.Fatalf("exported %v, want the one span", spans)
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range map[string]string{"service.name": "tollgate", "service.version": "v1.2.3", "k8s.cluster.name": "prod-1"} {
		if got[k] != v {
			t.Errorf("resource %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if s := spans[0].InstrumentationScope.Name; s != tracing.Scope {
		t.Errorf("scope %q, want %q", s, tracing.Scope)
	}
}

func TestPropagate(t *testing.T) {
	var got trace.SpanContext
	h := tracing.Propagate(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = trace.SpanContextFromContext(r.Context())
	}))
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !got.IsSampled() || !got.IsRemote() {
		t.Errorf("span context %+v, want the remote sampled parent", got)
	}
}
