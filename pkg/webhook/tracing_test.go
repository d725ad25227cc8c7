package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/tracing"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

const tracedCluster = `apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {kubernetes.io/metadata.name: team-a}}
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: team-a}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: team-a}
spec:
  hard: {cpu: '3'}
status:
  hard: {cpu: '3'}
  used: {cpu: '1'}
`

// keepSpans is the in-memory exporter without its reset on Shutdown, so the
// test reads what the batch processor flushed on the way out.
type keepSpans struct{ *tracetest.InMemoryExporter }

func (keepSpans) Shutdown(context.Context) error { return nil }

// traced serves one AdmissionReview through the real stack (header
// propagation, controller-runtime's webhook, our handler, the pipeline)
// with tracing on, then shuts the provider down and returns what it
// exported: the spans a user's backend would receive.
func traced(t *testing.T, ratio float64, hook func(trace.Tracer) admission.Handler, review []byte, header http.Header) (tracetest.SpanStubs, admissionv1.AdmissionResponse) {
	t.Helper()
	exp := keepSpans{tracetest.NewInMemoryExporter()}
	tp, err := tracing.New(t.Context(), tracing.Options{Endpoint: "collector:4317", SampleRatio: ratio, Version: "v9.9.9"}, exp)
	if err != nil {
		t.Fatal(err)
	}
	h := tracing.Propagate(&admission.Webhook{Handler: hook(tp.Tracer())})
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(review))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if err := tp.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("bad answer %d %s: %v", rec.Code, rec.Body.String(), err)
	}
	return exp.GetSpans(), *out.Response
}

func tracedPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	facts := cluster.NewStatic()
	if err := facts.AddYAML([]byte(tracedCluster), "test"); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(facts, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
}

func podReview(t *testing.T, uid, image, cpuRequest string) []byte {
	t.Helper()
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	if cpuRequest != "" {
		pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuRequest)}
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(uid),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Name:      "web",
			Namespace: "team-a",
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAdmissionSpans checks the trace of each webhook: one server span per
// request carrying what was asked and what was answered, with one child
// span per decision carrying its outcome.
func TestAdmissionSpans(t *testing.T) {
	p := tracedPipeline(t)
	mutator := func(tr trace.Tracer) admission.Handler { return &webhook.PodMutator{Pipeline: p, Tracer: tr} }
	validator := func(tr trace.Tracer) admission.Handler { return &webhook.PodValidator{Pipeline: p, Tracer: tr} }

	t.Run("mutate applies defaults", func(t *testing.T) {
		spans, resp := traced(t, 1, mutator, podReview(t, "uid-mutate", "registry.example.com/app:1.0", ""), nil)
		if !resp.Allowed || len(resp.Patch) == 0 {
			t.Fatalf("want an allowed patch, got %+v", resp)
		}
		root := only(t, spans, "tollgate.mutate")
		if root.Parent.IsValid() {
			t.Errorf("admission span has a parent %v; want a root span", root.Parent)
		}
		if root.SpanKind != trace.SpanKindServer {
			t.Errorf("span kind %v, want server", root.SpanKind)
		}
		wantAttrs(t, root, map[attribute.Key]attribute.Value{
			"tollgate.webhook.path":        attribute.StringValue("/mutate-v1-pod"),
			"tollgate.admission.operation": attribute.StringValue("CREATE"),
			"k8s.namespace.name":           attribute.StringValue("team-a"),
			"tollgate.admission.uid":       attribute.StringValue("uid-mutate"),
			"tollgate.admission.resource":  attribute.StringValue("pods"),
			"tollgate.admission.allowed":   attribute.BoolValue(true),
		})
		wantResource(t, root)
		apply := childOf(t, spans, root, "tollgate.defaults.apply")
		wantAttrs(t, apply, map[attribute.Key]attribute.Value{"tollgate.defaults.changed": attribute.BoolValue(true)})
		if names := spanNames(spans); len(names) != 2 {
			t.Errorf("spans %v, want the admission span and defaults only", names)
		}
	})

	t.Run("validate denies on quota and policy", func(t *testing.T) {
		// 3 CPUs on 1 used of 3 exceeds the quota; the latest tag is refused by policy.
		spans, resp := traced(t, 1, validator, podReview(t, "uid-deny", "nginx:latest", "3"), nil)
		if resp.Allowed {
			t.Fatalf("want a denial, got %+v", resp)
		}
		root := only(t, spans, "tollgate.validate")
		wantAttrs(t, root, map[attribute.Key]attribute.Value{
			"tollgate.webhook.path":      attribute.StringValue("/validate-v1-pod"),
			"tollgate.admission.uid":     attribute.StringValue("uid-deny"),
			"tollgate.admission.allowed": attribute.BoolValue(false),
			"tollgate.admission.code":    attribute.IntValue(http.StatusForbidden),
		})
		codesAttr := attr(t, root, "tollgate.denial.codes").AsStringSlice()
		if !slices.Contains(codesAttr, "quota.exceeded") || !slices.ContainsFunc(codesAttr, func(c string) bool { return len(c) > 7 && c[:7] == "policy." }) {
			t.Errorf("tollgate.denial.codes = %v, want quota.exceeded and a policy code", codesAttr)
		}
		if root.Status.Code == codes.Error {
			t.Errorf("a denial is an outcome, not an error: status %+v", root.Status)
		}
		wantAttrs(t, childOf(t, spans, root, "tollgate.limits.validate"), map[attribute.Key]attribute.Value{
			"tollgate.limits.outcome": attribute.StringValue("allow"),
		})
		pol := childOf(t, spans, root, "tollgate.policy.evaluate")
		if n := attr(t, pol, "tollgate.policy.count").AsInt64(); n != int64(len(p.State().Policies.Policies())) || n == 0 {
			t.Errorf("tollgate.policy.count = %d, want the %d loaded policies", n, len(p.State().Policies.Policies()))
		}
		if n := attr(t, pol, "tollgate.policy.denied").AsInt64(); n < 1 {
			t.Errorf("tollgate.policy.denied = %d, want at least 1", n)
		}
		wantAttrs(t, childOf(t, spans, root, "tollgate.quota.check"), map[attribute.Key]attribute.Value{
			"tollgate.quota.outcome": attribute.StringValue("deny"),
			"tollgate.quota.count":   attribute.IntValue(1),
		})
	})

	t.Run("validate allows", func(t *testing.T) {
		spans, resp := traced(t, 1, validator, podReview(t, "uid-ok", "registry.example.com/app:1.0", "100m"), nil)
		if !resp.Allowed {
			t.Fatalf("want allowed, got %+v", resp.Result)
		}
		root := only(t, spans, "tollgate.validate")
		wantAttrs(t, root, map[attribute.Key]attribute.Value{"tollgate.admission.allowed": attribute.BoolValue(true)})
		wantAttrs(t, childOf(t, spans, root, "tollgate.policy.evaluate"), map[attribute.Key]attribute.Value{
			"tollgate.policy.denied": attribute.IntValue(0),
		})
		wantAttrs(t, childOf(t, spans, root, "tollgate.quota.check"), map[attribute.Key]attribute.Value{
			"tollgate.quota.outcome": attribute.StringValue("allow"),
		})
	})

	t.Run("bad request is an error", func(t *testing.T) {
		review := podReview(t, "uid-bad", "registry.example.com/app:1.0", "")
		review = bytes.Replace(review, []byte(`"namespace":"team-a"`), []byte(`"namespace":""`), -1)
		spans, resp := traced(t, 1, validator, review, nil)
		if resp.Allowed || resp.Result.Code != http.StatusForbidden {
			t.Fatalf("want a 403 (failure mode closed), got %+v", resp)
		}
		root := only(t, spans, "tollgate.validate")
		if root.Status.Code != codes.Error {
			t.Errorf("status %+v, want error", root.Status)
		}
		wantAttrs(t, root, map[attribute.Key]attribute.Value{"tollgate.admission.code": attribute.IntValue(http.StatusForbidden)})
	})
}

// TestAdmissionSpansJoinTheAPIServerTrace: with the API server's own
// tracing on, its traceparent header makes Tollgate's span its child, and
// its sampling decision wins over the ratio.
func TestAdmissionSpansJoinTheAPIServerTrace(t *testing.T) {
	p := tracedPipeline(t)
	validator := func(tr trace.Tracer) admission.Handler { return &webhook.PodValidator{Pipeline: p, Tracer: tr} }
	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

	// Sampled parent, ratio 0: traced all the same.
	sampled := http.Header{"Traceparent": {"00-" + traceID + "-" + spanID + "-01"}}
	spans, _ := traced(t, 0, validator, podReview(t, "uid-joined", "registry.example.com/app:1.0", "100m"), sampled)
	root := only(t, spans, "tollgate.validate")
	if got := root.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("trace id %s, want the API server's %s", got, traceID)
	}
	if got := root.Parent.SpanID().String(); got != spanID || !root.Parent.IsRemote() {
		t.Errorf("parent %s (remote %v), want the API server's span %s", got, root.Parent.IsRemote(), spanID)
	}
	for _, name := range []string{"tollgate.limits.validate", "tollgate.policy.evaluate", "tollgate.quota.check"} {
		if got := childOf(t, spans, root, name).SpanContext.TraceID().String(); got != traceID {
			t.Errorf("%s in trace %s, want %s", name, got, traceID)
		}
	}

	// Unsampled parent, ratio 1: nothing exported, not even the decisions.
	unsampled := http.Header{"Traceparent": {"00-" + traceID + "-" + spanID + "-00"}}
	if spans, _ := traced(t, 1, validator, podReview(t, "uid-unsampled", "registry.example.com/app:1.0", "100m"), unsampled); len(spans) != 0 {
		t.Errorf("unsampled parent: exported %v, want nothing", spanNames(spans))
	}
	// No parent, ratio 0: nothing.
	if spans, _ := traced(t, 0, validator, podReview(t, "uid-ratio0", "registry.example.com/app:1.0", "100m"), nil); len(spans) != 0 {
		t.Errorf("ratio 0: exported %v, want nothing", spanNames(spans))
	}
}

func only(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %s among %v, want 1", len(found), name, spanNames(spans))
	}
	return found[0]
}

func childOf(t *testing.T, spans tracetest.SpanStubs, parent tracetest.SpanStub, name string) tracetest.SpanStub {
	t.Helper()
	s := only(t, spans, name)
	if s.Parent.SpanID() != parent.SpanContext.SpanID() || s.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Errorf("%s is not a child of %s", name, parent.Name)
	}
	return s
}

func attr(t *testing.T, s tracetest.SpanStub, key attribute.Key) attribute.Value {
	t.Helper()
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	t.Errorf("%s has no attribute %s (has %v)", s.Name, key, s.Attributes)
	return attribute.Value{}
}

func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[attribute.Key]attribute.Value) {
	t.Helper()
	for k, v := range want {
		if got := attr(t, s, k); got != v {
			t.Errorf("%s: %s = %v, want %v", s.Name, k, got.Emit(), v.Emit())
		}
	}
}

func wantResource(t *testing.T, s tracetest.SpanStub) {
	t.Helper()
	got := map[attribute.Key]string{}
	for _, kv := range s.Resource.Attributes() {
		got[kv.Key] = kv.Value.Emit()
	}
	if got["service.name"] != "tollgate" || got["service.version"] != "v9.9.9" {
		t.Errorf("resource %v, want service.name tollgate and service.version v9.9.9", got)
	}
}

func spanNames(spans tracetest.SpanStubs) []string {
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}
