package webhook

import (
	"context"
	"errors"
	"fmt"

	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// CodeMalfunction is the reason code of a denial caused by a fault in
// Tollgate (failure mode closed on the Pod validating webhook).
const CodeMalfunction = "tollgate.malfunction"

// Faults Tollgate answers for itself, named so metrics and tests can tell them apart.
var (
	// ErrShed: more requests were in evaluation than the replica takes at once.
	ErrShed = errors.New("tollgate is at its limit of requests evaluated at once and shed this one")
	// ErrDeadline: the evaluation did not finish before the server-side deadline.
	ErrDeadline = errors.New("tollgate did not finish within its deadline")
)

// FailureModeOf returns the Pod validating webhook's failure mode in force:
// closed unless the config says open. A replica with no config is closed.
type FailureModeOf func() string

// Failed answers a malfunction of Tollgate: bad input it cannot read, facts
// it cannot get, an evaluation error, a deadline or a shed request. An
// answer of allowed: false is a rejection whatever the webhook's
// failurePolicy says (the API server applies failurePolicy only when the
// call itself fails), so the answer is chosen here, per webhook:
//   - mutating and workload webhooks: admit unchanged, with a warning;
//   - Pod validating webhook: failure mode closed denies with a message
//     naming the fault; open admits with a warning.
//
// Every malfunction is logged and counted (tollgate_errors_total).
func Failed(ctx context.Context, rec Recorder, hook, mode string, err error) admission.Response {
	ctrl.LoggerFrom(ctx).Error(err, "admission decision failed", "webhook", hook, "failureMode", mode)
	trace.SpanFromContext(ctx).SetStatus(otelcodes.Error, err.Error())
	if rec != nil {
		rec.Malfunction(hook)
	}
	if hook == "validate" && mode != policy.FailureOpen {
		var v verdict.Verdict
		v.Deny(CodeMalfunction, "", fmt.Sprintf("Tollgate could not check this Pod and its failure mode is closed: %v", err))
		return Deny(v)
	}
	return admission.Allowed("").WithWarnings(fmt.Sprintf("Tollgate could not check this request and let it through unchanged: %v", err))
}
