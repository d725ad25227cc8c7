package pipeline

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// tracingScope names the instrumentation scope of the decision spans.
const tracingScope = "github.com/tollgate-dev/tollgate/pkg/pipeline"

// startSpan starts a decision span under the request's span, and only when
// that span records: an untraced or unsampled request starts nothing, reads
// no clock and allocates nothing. The tracer comes from the parent span, so
// the pipeline needs no wiring of its own.
//
// Callers guard attribute calls with span != nil: building the attribute
// list allocates even when it would be thrown away.
func startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(tracingScope).Start(ctx, name)
}

// endSpan ends span, marking it failed with err (a malfunction, never a
// denial). A nil span is tracing off.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// outcome is a verdict as a span attribute: deny, warn or allow.
func outcome(key attribute.Key, v verdict.Verdict) attribute.KeyValue {
	switch {
	case !v.Allowed():
		return key.String("deny")
	case len(v.Warnings) > 0:
		return key.String("warn")
	}
	return key.String("allow")
}
