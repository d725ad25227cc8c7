//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// A Tollgate started with --tracing-endpoint sends, for each Pod admission
// the API server makes, what an operator then finds in their tracing
// backend: a tollgate.mutate and a tollgate.validate server span naming the
// namespace and the answer, the decisions as child spans, under
// service.name=tollgate. The collector is an in-test OTLP/gRPC server; the
// spans are read after Tollgate is stopped, so this also proves that the
// spans still queued are flushed on shutdown.
//
// The shared Tollgate is kept out of the test namespace (tollgate.dev/ignore)
// and a second one, with tracing on, is registered for that namespace alone.
func TestTracing(t *testing.T) {
	ctx := testCtx(t)
	const ns = "e2e-tracing"
	col := startCollector(t)

	namespace(t, env.api.Client, ns, map[string]string{"e2e.tollgate.dev/profile": "small", "tollgate.dev/ignore": "true"}, true)
	cfg, err := harness.WriteFile(t.TempDir(), "config.yaml", baseConfig)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{
		Name: "tollgate-tracing", Dir: env.cp.Dir, Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile,
		ExtraArgs: []string{"--tracing-endpoint=" + col.addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Stop)
	registerNamespaceWebhooks(t, ctx, tg, "tollgate-tracing", ns)

	if _, err := env.api.Client.CoreV1().Pods(ns).Create(ctx, simplePod("web", pause), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Pod web: %v", err)
	}
	web, err := env.api.Client.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := web.Spec.Containers[0].Resources.Requests; !sameResources(got, rl("cpu", "100m", "memory", "64Mi")) {
		t.Fatalf("Pod web stored with requests %s; want the e2e-small profile's defaults from the traced Tollgate", fmtRL(got))
	}
	const evil = "quay.io/evil/miner:1.0"
	if _, err := env.api.Client.CoreV1().Pods(ns).Create(ctx, simplePod("miner", evil), metav1.CreateOptions{}); !denied(err, evil) {
		t.Fatalf("create Pod miner (%s): got %v, want a denial naming the image", evil, err)
	}

	tg.Stop() // SIGTERM; serve flushes the queued spans before it exits
	spans := col.collected()
	t.Logf("collector received %d spans", len(spans))

	// Only the two Pod creations: the probes that waited for the webhooks were dry runs.
	var mutates, validates []span
	for _, s := range spans {
		if s.str("k8s.namespace.name") != ns || s.attr("tollgate.admission.dry_run").GetBoolValue() {
			continue
		}
		switch s.Name {
		case "tollgate.mutate":
			mutates = append(mutates, s)
		case "tollgate.validate":
			validates = append(validates, s)
		}
	}
	if len(mutates) != 2 || len(validates) != 2 {
		t.Fatalf("got %d tollgate.mutate and %d tollgate.validate spans for the 2 Pods created in %s; want 2 of each. All spans:\n%s",
			len(mutates), len(validates), ns, describeSpans(spans))
	}

	for _, s := range append(slices.Clone(mutates), validates...) {
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER || s.scope != "github.com/tollgate-dev/tollgate" {
			t.Errorf("%s: kind %v scope %q, want a server span of scope github.com/tollgate-dev/tollgate", s.Name, s.Kind, s.scope)
		}
		if s.resource["service.name"] != "tollgate" || s.resource["service.version"] == "" {
			t.Errorf("%s: resource %v, want service.name=tollgate and a service.version", s.Name, s.resource)
		}
		if s.str("tollgate.admission.operation") != "CREATE" || s.str("tollgate.admission.resource") != "pods" || s.str("tollgate.admission.uid") == "" {
			t.Errorf("%s: operation %q resource %q uid %q, want CREATE of pods with the request's UID",
				s.Name, s.str("tollgate.admission.operation"), s.str("tollgate.admission.resource"), s.str("tollgate.admission.uid"))
		}
	}

	// Both Pods went through the mutating webhook and got defaults (neither
	// sets resources; the denial comes later, from validation).
	for _, m := range mutates {
		if allowed, ok := m.boolAttr("tollgate.admission.allowed"); !ok || !allowed {
			t.Errorf("tollgate.mutate: tollgate.admission.allowed = %v (set %v), want true", allowed, ok)
		}
		if d := childOf(t, spans, m, "tollgate.defaults.apply"); d != nil && !d.attr("tollgate.defaults.changed").GetBoolValue() {
			t.Errorf("tollgate.defaults.apply under tollgate.mutate: %s, want tollgate.defaults.changed=true", d.describe())
		}
	}

	// One validate span allowed (web), one denied by policy (miner).
	var allowedSpan, deniedSpan span
	for _, v := range validates {
		switch allowed, ok := v.boolAttr("tollgate.admission.allowed"); {
		case ok && allowed:
			allowedSpan = v
		case ok:
			deniedSpan = v
		}
	}
	if allowedSpan.Span == nil || deniedSpan.Span == nil {
		t.Fatalf("want one tollgate.validate span with tollgate.admission.allowed=true (web) and one with false (miner):\n%s", describeSpans(validates))
	}
	if c := deniedSpan.attr("tollgate.admission.code").GetIntValue(); c != 403 {
		t.Errorf("denied tollgate.validate: tollgate.admission.code = %d, want 403", c)
	}
	if codes := deniedSpan.strSlice("tollgate.denial.codes"); !slices.Contains(codes, "policy.allowed-registries") {
		t.Errorf("denied tollgate.validate: tollgate.denial.codes = %v, want policy.allowed-registries", codes)
	}
	if deniedSpan.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("denied tollgate.validate has status error (%q): a denial is an outcome, not an error", deniedSpan.Status.GetMessage())
	}

	for _, c := range []struct {
		parent       span
		policyDenied int64
	}{{allowedSpan, 0}, {deniedSpan, 1}} {
		if l := childOf(t, spans, c.parent, "tollgate.limits.validate"); l != nil && l.str("tollgate.limits.outcome") != "allow" {
			t.Errorf("tollgate.limits.validate: outcome %q, want allow", l.str("tollgate.limits.outcome"))
		}
		if p := childOf(t, spans, c.parent, "tollgate.policy.evaluate"); p != nil {
			if n := p.attr("tollgate.policy.count").GetIntValue(); n < 1 {
				t.Errorf("tollgate.policy.evaluate: tollgate.policy.count = %d, want the loaded policies", n)
			}
			if n := p.attr("tollgate.policy.denied").GetIntValue(); n != c.policyDenied {
				t.Errorf("tollgate.policy.evaluate under a validate span with allowed=%v: tollgate.policy.denied = %d, want %d",
					c.policyDenied == 0, n, c.policyDenied)
			}
		}
		if q := childOf(t, spans, c.parent, "tollgate.quota.check"); q != nil && q.str("tollgate.quota.outcome") != "allow" {
			t.Errorf("tollgate.quota.check: outcome %q, want allow (no ResourceQuota in %s)", q.str("tollgate.quota.outcome"), ns)
		}
	}
}

// registerNamespaceWebhooks registers tg's Pod webhooks (chart, URL mode) for
// namespace ns only, waits until the API server calls them, and removes them
// when the test ends (before tg is stopped: cleanups run last-in first-out).
func registerNamespaceWebhooks(t *testing.T, ctx context.Context, tg *harness.Tollgate, release, ns string) {
	t.Helper()
	manifest, err := harness.RenderWebhooks(ctx, tg, release,
		"webhook.workloads.enabled=false",
		// The default ignore label keeps the shared Tollgate out of ns; this one must not skip it.
		"webhook.ignoreLabel=e2e.tollgate.dev/untraced",
		"webhook.namespaceSelectorExpressions[0].key=kubernetes.io/metadata.name",
		"webhook.namespaceSelectorExpressions[0].operator=In",
		"webhook.namespaceSelectorExpressions[0].values[0]="+ns,
	)
	if err != nil {
		t.Fatal(err)
	}
	if r := kubectl(ctx, manifest, "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("apply webhooks: %s", r.Output())
	}
	t.Cleanup(func() {
		if r := kubectl(context.Background(), manifest, "delete", "--ignore-not-found", "-f", "-"); r.Err != nil {
			t.Errorf("delete webhooks of %s: %s", release, r.Output())
		}
	})
	if err := harness.WaitWebhooksCalled(ctx, env.api, tg, ns); err != nil {
		t.Fatal(err)
	}
}

// collector is a minimal OTLP/gRPC trace collector on 127.0.0.1.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	addr string

	mu    sync.Mutex
	spans []span
}

// span is one received span with its resource's and scope's identity.
type span struct {
	*tracepb.Span
	resource map[string]string // string attributes of the resource
	scope    string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{addr: lis.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, c)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop() // closes the listener
		<-done
	})
	return c
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, span{Span: s, resource: res, scope: ss.GetScope().GetName()})
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (c *collector) collected() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.spans)
}

func (s span) attr(key string) *commonpb.AnyValue {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return nil
}

func (s span) str(key string) string { return s.attr(key).GetStringValue() }

// boolAttr returns a bool attribute and whether the span has it at all.
func (s span) boolAttr(key string) (bool, bool) {
	v := s.attr(key)
	if v == nil {
		return false, false
	}
	b, ok := v.GetValue().(*commonpb.AnyValue_BoolValue)
	return ok && b.BoolValue, ok
}

func (s span) strSlice(key string) []string {
	var out []string
	for _, v := range s.attr(key).GetArrayValue().GetValues() {
		out = append(out, v.GetStringValue())
	}
	return out
}

// childOf returns the one span named name whose parent is parent (same
// trace), or reports an error and returns nil.
func childOf(t *testing.T, spans []span, parent span, name string) *span {
	t.Helper()
	var found []span
	for _, s := range spans {
		if s.Name == name && string(s.TraceId) == string(parent.TraceId) && string(s.ParentSpanId) == string(parent.SpanId) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Errorf("%d %s spans under %s (%s), want 1. Spans of that trace:\n%s", len(found), name, parent.Name, parent.describe(), describeSpans(sameTrace(spans, parent)))
		return nil
	}
	return &found[0]
}

func sameTrace(spans []span, of span) []span {
	var out []span
	for _, s := range spans {
		if string(s.TraceId) == string(of.TraceId) {
			out = append(out, s)
		}
	}
	return out
}

func (s span) describe() string {
	attrs := make([]string, 0, len(s.GetAttributes()))
	for _, kv := range s.GetAttributes() {
		attrs = append(attrs, kv.GetKey()+"="+anyString(kv.GetValue()))
	}
	return fmt.Sprintf("%s span %x parent %x {%s}", s.Name, s.SpanId, s.ParentSpanId, strings.Join(attrs, " "))
}

func describeSpans(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString("  " + s.describe() + "\n")
	}
	return b.String()
}

func anyString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonpb.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyString(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v.GetValue())
}
