package pipeline

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestUntracedDecisionsAllocateNothing guards the untraced path: without a
// recording span in the context a decision span costs no allocation.
func TestUntracedDecisionsAllocateNothing(t *testing.T) {
	ctx := t.Context()
	if n := testing.AllocsPerRun(100, func() {
		_, span := startSpan(ctx, "tollgate.policy.evaluate")
		if span != nil {
			span.SetAttributes(attribute.Int("tollgate.policy.count", 1))
		}
		endSpan(span, nil)
	}); n != 0 {
		t.Errorf("%v allocations per untraced decision span, want 0", n)
	}
}
