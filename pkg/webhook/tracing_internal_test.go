package webhook

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// TestTracingOffAllocatesNothing guards the untraced path: with no tracer
// the admission span costs no allocation (the handler benchmarks'
// allocs/op must not move when tracing is off).
func TestTracingOffAllocatesNothing(t *testing.T) {
	ar := admission.Request{}
	resp := admission.Allowed("")
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() {
		_, span := startSpan(ctx, nil, "validate", ValidatePodPath, &ar)
		endSpan(span, resp)
	}); n != 0 {
		t.Errorf("%v allocations per request with tracing off, want 0", n)
	}
}
