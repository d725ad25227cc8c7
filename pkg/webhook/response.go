package webhook

import (
	"context"
	"net/http"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Recorder counts decisions; metrics implement it, tests may leave it nil.
type Recorder interface {
	Decision(webhook string, allowed bool, reasons []verdict.Reason, warnings []verdict.Warning)
	Malfunction(webhook string)
}

// result is what a handler concluded about one request.
type result struct {
	verdict verdict.Verdict
	patch   []jsonpatch.JsonPatchOperation
	err     error
}

// respond maps a result to the admission response, records it and logs it:
// the one place that decides what the API server is told. An error, a bad
// request included, is a malfunction answered per webhook (Failed); mode is
// the failure mode of the Pod validating webhook ("" for the others).
func respond(ctx context.Context, rec Recorder, hook, mode string, r result) admission.Response {
	if r.err != nil {
		return Failed(ctx, rec, hook, mode, r.err)
	}
	v := r.verdict
	record(rec, hook, v.Reasons, v.Warnings)
	log := ctrl.LoggerFrom(ctx)
	switch {
	case !v.Allowed():
		log.V(1).Info("denied", "codes", codes(v.Reasons))
		return Deny(v)
	case len(r.patch) > 0:
		log.V(1).Info("mutated", "operations", len(r.patch))
		return admission.Patched("", r.patch...).WithWarnings(v.WarningMessages()...)
	}
	return admission.Allowed("").WithWarnings(v.WarningMessages()...)
}

func record(rec Recorder, hook string, reasons []verdict.Reason, warnings []verdict.Warning) {
	if rec != nil {
		rec.Decision(hook, len(reasons) == 0, reasons, warnings)
	}
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
		Warnings: v.WarningMessages(),
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

func codes(rs []verdict.Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}
