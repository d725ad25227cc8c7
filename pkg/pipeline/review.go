package pipeline

import (
	"context"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Outcome is what the API server would make of one request after Tollgate's
// mutating and then validating webhook.
type Outcome struct {
	Allowed  bool                           `json:"allowed"`
	Object   *corev1.Pod                    `json:"object,omitempty"`
	Patch    []jsonpatch.JsonPatchOperation `json:"patch"`
	Reasons  []verdict.Reason               `json:"reasons"`
	Warnings []string                       `json:"warnings"`
}

// Review runs both webhooks' decisions in the API server's order, offline:
// defaults on a copy of the object, then validation of the result.
func (p *Pipeline) Review(ctx context.Context, ar *admissionv1.AdmissionRequest) (Outcome, error) {
	req, pod, old, err := Decode(ar)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Allowed: true, Object: pod, Patch: []jsonpatch.JsonPatchOperation{}, Reasons: []verdict.Reason{}, Warnings: []string{}}
	if pod == nil {
		return out, nil
	}
	mutated := pod.DeepCopy()
	applied, err := p.Default(ctx, req, mutated)
	if err != nil {
		return Outcome{}, err
	}
	if applied.Changed {
		if out.Patch, err = PatchWritten(ar.Object.Raw, pod, mutated, applied.Wrote); err != nil {
			return Outcome{}, err
		}
	}
	out.Object = mutated
	v, err := p.Validate(ctx, req, mutated, old)
	if err != nil {
		return Outcome{}, err
	}
	all := verdict.Merge(verdict.Verdict{Warnings: applied.Warnings}, v)
	out.Allowed = all.Allowed()
	out.Reasons = append(out.Reasons, all.Reasons...)
	out.Warnings = append(out.Warnings, all.Warnings...)
	return out, nil
}
