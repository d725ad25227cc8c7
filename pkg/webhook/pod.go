// Package webhook adapts the decision pipeline to controller-runtime's
// admission webhooks: decode, call the pipeline, map the result. Nothing
// here decides anything.
package webhook

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/trace"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/imagepin"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Paths the webhooks are served on.
const (
	MutatePodPath   = "/mutate-v1-pod"
	ValidatePodPath = "/validate-v1-pod"
)

// Recorder counts decisions; metrics implement it, tests may leave it nil.
type Recorder interface {
	Decision(webhook string, allowed bool, reasons []verdict.Reason, warnings []string)
	Malfunction(webhook string)
}

// PodMutator serves /mutate-v1-pod.
type PodMutator struct {
	Pipeline *pipeline.Pipeline
	Recorder Recorder
	// Tracer, when set, traces each request (tracing.Provider.Tracer); nil is off.
	Tracer trace.Tracer
	// Pins pins image tags to digests (pkg/imagepin); nil is off.
	Pins *imagepin.Holder
}

// Handle implements admission.Handler.
func (m *PodMutator) Handle(ctx context.Context, ar admission.Request) admission.Response {
	return traced(ctx, m.Tracer, "mutate", MutatePodPath, ar, m.handle)
}

func (m *PodMutator) handle(ctx context.Context, ar admission.Request) admission.Response {
	req, pod, _, err := pipeline.Decode(&ar.AdmissionRequest)
	if err != nil {
		return badRequest(ctx, m.Recorder, "mutate", err)
	}
	if pod == nil {
		return admission.Allowed("")
	}
	// Defaulting writes only the annotations and container resources,
	// which Writable copies, so pod stays the original Patch diffs against.
	mutated := defaults.Writable(pod)
	res, err := m.Pipeline.Default(ctx, req, mutated)
	if err != nil {
		return malfunction(ctx, m.Recorder, "mutate", err)
	}
	pins, err := pin(ctx, m.Pins, req.Operation, req.Namespace, mutated)
	if err != nil {
		return malfunction(ctx, m.Recorder, "mutate", err)
	}
	warnings := append(res.Warnings, pins.warnings...)
	if pins.denial != nil {
		pins.denial.Warnings = warnings
		record(m.Recorder, "mutate", pins.denial.Reasons, warnings)
		return Deny(*pins.denial)
	}
	record(m.Recorder, "mutate", nil, warnings)
	if pins.pod != nil {
		// Images changed too: the whole-Pod diff, not the defaults-only one.
		ops, err := pipeline.Patch(ar.Object.Raw, pod, pins.pod)
		if err != nil {
			return malfunction(ctx, m.Recorder, "mutate", err)
		}
		return admission.Patched("", ops...).WithWarnings(warnings...)
	}
	if !res.Changed {
		return admission.Allowed("").WithWarnings(warnings...)
	}
	ops, err := pipeline.PatchWritten(ar.Object.Raw, pod, mutated, res.Wrote)
	if err != nil {
		return malfunction(ctx, m.Recorder, "mutate", err)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("defaults applied", "operations", len(ops))
	return admission.Patched("", ops...).WithWarnings(res.Warnings...)
}

// PodValidator serves /validate-v1-pod.
type PodValidator struct {
	Pipeline *pipeline.Pipeline
	Recorder Recorder
	// Tracer, when set, traces each request (tracing.Provider.Tracer); nil is off.
	Tracer trace.Tracer
}

// Handle implements admission.Handler.
func (v *PodValidator) Handle(ctx context.Context, ar admission.Request) admission.Response {
	return traced(ctx, v.Tracer, "validate", ValidatePodPath, ar, v.handle)
}

func (v *PodValidator) handle(ctx context.Context, ar admission.Request) admission.Response {
	req, pod, old, err := pipeline.Decode(&ar.AdmissionRequest)
	if err != nil {
		return badRequest(ctx, v.Recorder, "validate", err)
	}
	if pod == nil {
		return admission.Allowed("")
	}
	out, err := v.Pipeline.Validate(ctx, req, pod, old)
	if err != nil {
		return malfunction(ctx, v.Recorder, "validate", err)
	}
	record(v.Recorder, "validate", out.Reasons, out.Warnings)
	if out.Allowed() {
		return admission.Allowed("").WithWarnings(out.Warnings...)
	}
	ctrl.LoggerFrom(ctx).V(1).Info("denied", "codes", codes(out.Reasons))
	return Deny(out)
}

// Deny turns a denying verdict into a 403 response whose message lists every
// reason and whose causes carry each reason's code and field path.
func Deny(v verdict.Verdict) admission.Response {
	causes := make([]metav1.StatusCause, 0, len(v.Reasons))
	for _, r := range v.Reasons {
		causes = append(causes, metav1.StatusCause{Type: metav1.CauseType(r.Code), Message: r.Message, Field: r.Path})
	}
	return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{
		Allowed: false,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusForbidden,
			Reason:  metav1.StatusReasonForbidden,
			Message: v.Message(),
			Details: &metav1.StatusDetails{Causes: causes},
		},
		Warnings: v.Warnings,
	}}
}

// Reasons reads the reasons back from a response made by Deny.
func Reasons(resp *admissionv1.AdmissionResponse) []verdict.Reason {
	out := []verdict.Reason{}
	if resp == nil || resp.Result == nil || resp.Result.Details == nil {
		return out
	}
	for _, c := range resp.Result.Details.Causes {
		out = append(out, verdict.Reason{Code: string(c.Type), Message: c.Message, Path: c.Field})
	}
	return out
}

func badRequest(ctx context.Context, rec Recorder, hook string, err error) admission.Response {
	ctrl.LoggerFrom(ctx).Info("bad admission request", "error", err.Error())
	if rec != nil {
		rec.Malfunction(hook)
	}
	return admission.Errored(http.StatusBadRequest, err)
}

// malfunction is an error in Tollgate or its facts, not a denial: the
// webhook's failurePolicy decides what the API server does with it.
func malfunction(ctx context.Context, rec Recorder, hook string, err error) admission.Response {
	ctrl.LoggerFrom(ctx).Error(err, "admission decision failed")
	if rec != nil {
		rec.Malfunction(hook)
	}
	code := int32(http.StatusInternalServerError)
	if errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
	}
	return admission.Errored(code, err)
}

func record(rec Recorder, hook string, reasons []verdict.Reason, warnings []string) {
	if rec != nil {
		rec.Decision(hook, len(reasons) == 0, reasons, warnings)
	}
}

func codes(rs []verdict.Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}
