package webhook

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Span attributes of the admission span, one per request. The decision
// spans under it are the pipeline's (pkg/pipeline/tracing.go).
const (
	AttrPath      = attribute.Key("tollgate.webhook.path")
	AttrOperation = attribute.Key("tollgate.admission.operation")
	AttrNamespace = attribute.Key("k8s.namespace.name")
	AttrUID       = attribute.Key("tollgate.admission.uid")
	AttrResource  = attribute.Key("tollgate.admission.resource")
	AttrDryRun    = attribute.Key("tollgate.admission.dry_run")
	AttrAllowed   = attribute.Key("tollgate.admission.allowed")
	AttrCode      = attribute.Key("tollgate.admission.code")
	AttrReasons   = attribute.Key("tollgate.denial.codes")
)

// traced runs handle for one request inside the webhook's admission span.
func traced(ctx context.Context, tracer trace.Tracer, hook, path string, ar admission.Request,
	handle func(context.Context, admission.Request) admission.Response) admission.Response {
	ctx, span := startSpan(ctx, tracer, hook, path, &ar)
	resp := handle(ctx, ar)
	endSpan(span, resp)
	return resp
}

// startSpan starts the admission span named for the webhook. With a nil
// tracer (tracing off) it starts nothing and returns a nil span: no
// allocation, so the untraced path costs what it did before tracing.
func startSpan(ctx context.Context, tracer trace.Tracer, hook, path string, ar *admission.Request) (context.Context, trace.Span) {
	if tracer == nil {
		return ctx, nil
	}
	ctx, span := tracer.Start(ctx, "tollgate."+hook, trace.WithSpanKind(trace.SpanKindServer))
	if span.IsRecording() {
		resource := ar.Resource.Resource
		if ar.SubResource != "" {
			resource += "/" + ar.SubResource
		}
		span.SetAttributes(
			AttrPath.String(path),
			AttrOperation.String(string(ar.Operation)),
			AttrNamespace.String(ar.Namespace),
			AttrUID.String(string(ar.UID)),
			AttrResource.String(resource),
			AttrDryRun.Bool(ar.DryRun != nil && *ar.DryRun),
		)
	}
	return ctx, span
}

// endSpan records the answer on span and ends it: allowed or not, the
// denial codes, and an error status for a malfunction (a 4xx/5xx answer).
// A denial is an outcome, not an error.
func endSpan(span trace.Span, resp admission.Response) {
	if span == nil {
		return
	}
	if span.IsRecording() {
		span.SetAttributes(AttrAllowed.Bool(resp.Allowed))
		if r := resp.Result; r != nil && r.Code != 0 {
			span.SetAttributes(AttrCode.Int(int(r.Code)))
		}
		if reasons := Reasons(&resp.AdmissionResponse); len(reasons) > 0 {
			span.SetAttributes(AttrReasons.StringSlice(codes(reasons)))
		}
		if r := resp.Result; !resp.Allowed && r != nil && r.Code != http.StatusForbidden {
			span.SetStatus(otelcodes.Error, r.Message)
		}
	}
	span.End()
}
