package pipeline

import (
	"context"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Outcome is what the API server would make of one request after Tollgate's
// webhooks: for a Pod the mutating and then the validating one.
type Outcome struct {
	Allowed bool `json:"allowed"`
	// Object is the Pod after defaults and pinning (nil for workloads).
	Object *corev1.Pod `json:"object,omitempty"`
	// Changed reports that defaults or pinning changed the Pod.
	Changed  bool             `json:"-"`
	Reasons  []verdict.Reason `json:"reasons"`
	Warnings []string         `json:"warnings"`
}

// Review runs the webhooks' decisions in the API server's order, offline:
// for a Pod, defaults on a copy of the object, then validation of the
// result; for a workload, the workload checks. An error is a bad request
// or a malfunction, as in the webhooks.
func (p *Pipeline) Review(ctx context.Context, ar *admissionv1.AdmissionRequest) (Outcome, error) {
	req, err := Decode(ar)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Allowed: true, Reasons: []verdict.Reason{}, Warnings: []string{}}
	var v verdict.Verdict
	switch {
	case req.IsWorkload():
		if v, err = p.ValidateWorkload(ctx, req); err != nil {
			return Outcome{}, err
		}
	case req.Pod != nil:
		mutated := req.Pod.DeepCopy()
		m, err := p.Mutate(ctx, req, mutated)
		if err != nil {
			return Outcome{}, err
		}
		out.Object, out.Changed = mutated, m.Changed
		if !m.Verdict.Allowed() {
			// The mutating webhook refused it: the Pod goes no further.
			v = m.Verdict
			break
		}
		if v, err = p.Validate(ctx, req, mutated, req.OldPod); err != nil {
			return Outcome{}, err
		}
		v = verdict.Merge(m.Verdict, v)
	}
	out.Allowed = v.Allowed()
	for _, r := range v.Reasons {
		r.Resources = nil // not in the API server's answer either
		out.Reasons = append(out.Reasons, r)
	}
	out.Warnings = append(out.Warnings, v.WarningMessages()...)
	return out, nil
}
