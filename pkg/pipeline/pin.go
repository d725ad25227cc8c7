package pipeline

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/podimages"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// ImageLookups resolves the tags that pinning selected, with the Pod's
// pull secrets (plumbing: pkg/imagepin). Results are keyed by the
// reference as written; a failure is a Resolution with Err, never a panic.
type ImageLookups interface {
	Resolve(ctx context.Context, namespace string, pod *corev1.Pod, cands []pinning.Candidate) map[string]pinning.Resolution
}

// Mutation is what the mutating webhook does to one Pod: the Pod itself is
// changed in place, this says how and what to tell the user.
type Mutation struct {
	// Changed reports that defaults or pinning changed the Pod.
	Changed bool
	// Verdict holds the warnings, and the reasons when pinning denies.
	Verdict verdict.Verdict
	// Pinned lists the image references rewritten to digests.
	Pinned []pinning.Pin
}

// Mutate runs the mutating path on pod in place: LimitRange defaults, then
// tag to digest pinning. Registry lookups happen in the state's
// ImageLookups, only for references a pinning rule selects; the decisions
// on their results are pkg/pinning's.
func (p *Pipeline) Mutate(ctx context.Context, req Request, pod *corev1.Pod) (Mutation, error) {
	res, err := p.Default(ctx, req, pod)
	if err != nil {
		return Mutation{}, err
	}
	m := Mutation{Changed: res.Changed, Verdict: res.Verdict()}
	out, err := p.pin(ctx, req, pod)
	if err != nil {
		return Mutation{}, err
	}
	for _, d := range out.Denials {
		m.Verdict.Deny(pinning.ReasonUnresolved, d.Path, d.Message)
	}
	m.Verdict.Warnings = append(m.Verdict.Warnings, out.Warnings...)
	m.Pinned = out.Pinned
	m.Changed = m.Changed || len(out.Pinned) > 0
	return m, nil
}

// pin pins the selected tags of a Pod being created, and of the ephemeral
// containers added by pods/ephemeralcontainers (nothing else may change
// there). The Pod is changed only when every selected tag resolved or the
// failures only warn.
func (p *Pipeline) pin(ctx context.Context, req Request, pod *corev1.Pod) (pinning.Outcome, error) {
	st := p.State()
	policy := st.Config.PinningPolicy()
	create := req.Operation == "CREATE" && req.SubResource == ""
	debug := req.Operation == "UPDATE" && req.SubResource == "ephemeralcontainers" && req.OldPod != nil
	if !policy.Enabled() || p.skipped(req) || (!create && !debug) {
		return pinning.Outcome{}, nil
	}
	ns, err := p.facts.Namespace(ctx, req.Namespace)
	if err != nil {
		return pinning.Outcome{}, fmt.Errorf("pinning: read namespace %q: %w", req.Namespace, err)
	}
	var nsLabels labels.Set
	if ns != nil {
		nsLabels = ns.Labels
	}
	cands := policy.Candidates(&pod.Spec, nsLabels)
	if debug {
		cands = pinning.Added(cands, &req.OldPod.Spec)
	}
	if len(cands) == 0 {
		return pinning.Outcome{}, nil // nothing selected: no secret read, no registry contact
	}
	if st.Lookups == nil {
		// Offline (eval, test): no registry; say what the webhook would do.
		return pinning.Outcome{Warnings: []verdict.Warning{{Code: pinning.WarnOffline, Message: pinning.Unresolved(cands)}}}, nil
	}
	ctx, span := startSpan(ctx, "tollgate.pinning")
	out := policy.Apply(pod, cands, st.Lookups.Resolve(ctx, req.Namespace, pod, cands))
	if span != nil {
		span.SetAttributes(
			attribute.Int("tollgate.pinning.candidates", len(cands)),
			attribute.Int("tollgate.pinning.pinned", len(out.Pinned)),
			attribute.Int("tollgate.pinning.failed", len(out.Warnings)+len(out.Denials)),
		)
		endSpan(span, nil)
	}
	return out, nil
}

// wouldPin is the workload feedback of pinning: which tags will be pinned
// in the Pods the template makes (the template itself is left as written,
// so GitOps tools see no drift). Said when the template is new or its
// images changed, like the other template checks.
func wouldPin(st *State, w, old *workload.Workload, nsLabels labels.Set) verdict.Verdict {
	var v verdict.Verdict
	if w == nil || w.Template == nil || (old != nil && old.Template != nil && sameImages(&w.Template.Spec, &old.Template.Spec)) {
		return v
	}
	if msg := st.Config.PinningPolicy().WouldPin(&w.Template.Spec, nsLabels); msg != "" {
		v.Warn(pinning.WarnWillPin, nil, w.Subject()+": "+msg)
	}
	return v
}

func sameImages(a, b *corev1.PodSpec) bool {
	x, y := podimages.Of(a), podimages.Of(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].Reference != y[i].Reference || x[i].Name != y[i].Name {
			return false
		}
	}
	return true
}
