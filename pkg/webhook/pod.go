// Package webhook adapts the decision pipeline to controller-runtime's
// admission webhooks: the transport. It decodes each request once (through
// pipeline.Decode), calls the pipeline, builds the JSON patch of a mutation
// and maps the result to the admission response (respond). Nothing here
// decides anything.
package webhook

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// Paths the webhooks are served on.
const (
	MutatePodPath   = "/mutate-v1-pod"
	ValidatePodPath = "/validate-v1-pod"
)

// PodMutator serves /mutate-v1-pod.
type PodMutator struct {
	Pipeline *pipeline.Pipeline
	Recorder Recorder
	// Tracer, when set, traces each request (tracing.Provider.Tracer); nil is off.
	Tracer trace.Tracer
}

// Handle implements admission.Handler.
func (m *PodMutator) Handle(ctx context.Context, ar admission.Request) admission.Response {
	return traced(ctx, m.Tracer, "mutate", MutatePodPath, ar, func(ctx context.Context, ar admission.Request) admission.Response {
		return respond(ctx, m.Recorder, "mutate", "", m.mutate(ctx, ar))
	})
}

func (m *PodMutator) mutate(ctx context.Context, ar admission.Request) result {
	req, err := decode(ar, false)
	if err != nil {
		return result{err: err}
	}
	if req.Pod == nil {
		return result{}
	}
	mutated := req.Pod.DeepCopy()
	res, err := m.Pipeline.Mutate(ctx, req, mutated)
	if err != nil || !res.Changed || !res.Verdict.Allowed() {
		return result{err: err, verdict: res.Verdict}
	}
	ops, err := Patch(ar.Object.Raw, mutated)
	return result{verdict: res.Verdict, patch: ops, err: err}
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
	return traced(ctx, v.Tracer, "validate", ValidatePodPath, ar, func(ctx context.Context, ar admission.Request) admission.Response {
		return respond(ctx, v.Recorder, "validate", FailureMode(v.Pipeline), v.validate(ctx, ar))
	})
}

func (v *PodValidator) validate(ctx context.Context, ar admission.Request) result {
	req, err := decode(ar, false)
	if err != nil {
		return result{err: err}
	}
	if req.Pod == nil {
		return result{}
	}
	out, err := v.Pipeline.Validate(ctx, req, req.Pod, req.OldPod)
	return result{verdict: out, err: err}
}

// decode reads the request once; a request of the other webhook's kind
// (a Pod sent to the workload webhook, or the reverse) is a bad request,
// which is answered as a malfunction like any other (Failed).
func decode(ar admission.Request, workloads bool) (pipeline.Request, error) {
	req, err := pipeline.Decode(&ar.AdmissionRequest)
	switch {
	case err != nil:
		return req, err
	case req.IsWorkload() && !workloads:
		return req, fmt.Errorf("kind %s: %w", ar.Kind.String(), pipeline.ErrNotPod)
	case !req.IsWorkload() && workloads:
		return req, fmt.Errorf("kind %s: %w", ar.Kind.String(), workload.ErrUnsupported)
	}
	return req, nil
}

// FailureMode is the Pod validating webhook's failure mode in force;
// closed when no config is loaded.
func FailureMode(p *pipeline.Pipeline) string {
	if st := p.State(); st != nil && st.Config != nil {
		return st.Config.Policies.FailureMode
	}
	return "closed"
}
