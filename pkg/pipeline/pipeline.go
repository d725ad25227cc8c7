// Package pipeline composes the decisions (defaults, quota, policy) for one
// Pod admission. The webhook handlers, `tollgate eval` and `tollgate test`
// all go through it, so they cannot disagree.
package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// Facts are the cluster objects a decision needs (Namespace, LimitRanges,
// ResourceQuotas): the server reads them from the manager's cache, eval from
// files. The workload checks read the same, so there is one interface.
type Facts = workload.Facts

// State is what a reload replaces as a whole: the config and the policies
// compiled against it.
type State struct {
	Config   *config.Config
	Policies *policy.Engine
}

// Request is what the pipeline needs to know about an admission request:
// what policies see as input.request, and what Decode read.
type Request struct {
	policy.Request

	// sent, set by Decode, lets Validate give policies the Pods' JSON as
	// the API server sent it rather than marshal them again. It is shared
	// by copies of the Request, so that Default can record that the Pod it
	// changes in place no longer matches that JSON. A Pod Decode returned
	// must not be changed otherwise before Validate; change a copy.
	sent *sent
}

// Pipeline runs the decisions. It is safe for concurrent use.
type Pipeline struct {
	facts        Facts
	ledger       *quota.Ledger
	ownNamespace string
	state        atomic.Pointer[State]
}

// Options configure a Pipeline.
type Options struct {
	// OwnNamespace is never acted on, so Tollgate cannot lock itself out.
	OwnNamespace string
	// Ledger, when set, remembers admitted Pods that quota status does not show yet.
	Ledger *quota.Ledger
}

// New builds a pipeline over facts with an initial state.
func New(facts Facts, st *State, opts Options) *Pipeline {
	p := &Pipeline{facts: facts, ledger: opts.Ledger, ownNamespace: opts.OwnNamespace}
	p.state.Store(st)
	return p
}

// Swap replaces config and policies atomically; requests in flight finish
// with the state they started with.
func (p *Pipeline) Swap(st *State) { p.state.Store(st) }

// State returns the state in force.
func (p *Pipeline) State() *State { return p.state.Load() }

// Default fills missing resources in pod (in place) on CREATE and on
// pods/resize, as the in-tree LimitRanger does.
func (p *Pipeline) Default(ctx context.Context, req Request, pod *corev1.Pod) (defaults.Result, error) {
	if !p.defaulted(req) {
		return defaults.Result{}, nil
	}
	if req.sent.uncomputable() != "" {
		return defaults.Result{}, nil // Validate says why
	}
	ctx, span := startSpan(ctx, "tollgate.defaults.apply")
	req.sent.forget(pod)
	in, _, err := p.limitInputs(ctx, req.Namespace)
	if err != nil {
		endSpan(span, err)
		return defaults.Result{}, err
	}
	res := defaults.Apply(pod, in)
	if span != nil {
		span.SetAttributes(
			attribute.Bool("tollgate.defaults.changed", res.Changed),
			attribute.Int("tollgate.defaults.warnings", len(res.Warnings)),
		)
		endSpan(span, nil)
	}
	return res, nil
}

// Validate checks the final pod: limits, quota headroom and policies.
// old is the stored pod on UPDATE and nil otherwise. Policies see a Pod
// Decode returned for req, unchanged, as the JSON it was decoded from, and
// any other Pod (a defaulted copy, as under `tollgate eval`) marshalled.
func (p *Pipeline) Validate(ctx context.Context, req Request, pod, old *corev1.Pod) (verdict.Verdict, error) {
	if p.skipped(req) {
		return verdict.Verdict{}, nil
	}
	st := p.State()
	in, ns, err := p.limitInputs(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, err
	}
	var parts []verdict.Verdict
	huge := req.sent.uncomputable()
	if huge != "" {
		parts = append(parts, verdict.Verdict{Warnings: []string{skipWarning(huge)}})
	}
	if p.defaulted(req) && !terminating(old) {
		_, span := startSpan(ctx, "tollgate.limits.validate")
		checked := pod
		if huge != "" {
			checked = clamped(pod)
		}
		lv := defaults.Validate(checked, in)
		if span != nil {
			span.SetAttributes(outcome("tollgate.limits.outcome", lv))
			endSpan(span, nil)
		}
		parts = append(parts, lv)
	}
	pv, err := p.evaluatePolicies(ctx, st, policy.Input{
		Request: req.Request, Object: pod, OldObject: old, Namespace: ns,
		ObjectJSON: req.sent.jsonOf(pod), OldObjectJSON: req.sent.jsonOf(old),
	})
	if err != nil {
		return verdict.Verdict{}, err
	}
	parts = append(parts, pv)
	if (req.SubResource == "" || req.SubResource == "resize") && huge == "" {
		ctx, span := startSpan(ctx, "tollgate.quota.check")
		quotas, err := p.facts.Quotas(ctx, req.Namespace)
		if err != nil {
			err = fmt.Errorf("read resource quotas of namespace %q: %w", req.Namespace, err)
			endSpan(span, err)
			return verdict.Verdict{}, err
		}
		qin := quota.Input{
			Operation: req.Operation, Pod: pod, OldPod: old, Quotas: quotas,
			DryRun: req.DryRun, Options: st.Config.QuotaOptions(),
		}
		// Quota goes last so the ledger only keeps a charge for a Pod that
		// every other check admitted as well.
		qv := p.ledger.Check(qin)
		if span != nil {
			span.SetAttributes(outcome("tollgate.quota.outcome", qv), attribute.Int("tollgate.quota.count", len(quotas)))
			endSpan(span, nil)
		}
		parts = append(parts, qv)
		if out := verdict.Merge(parts...); !out.Allowed() {
			p.ledger.Release(qin)
			return reorder(out), nil
		}
	}
	return reorder(verdict.Merge(parts...)), nil
}

// evaluatePolicies runs the policies in force, in a span that counts them
// and their denials.
func (p *Pipeline) evaluatePolicies(ctx context.Context, st *State, in policy.Input) (verdict.Verdict, error) {
	ctx, span := startSpan(ctx, "tollgate.policy.evaluate")
	pv, err := st.Policies.Evaluate(ctx, in, st.Config.Policies)
	if err != nil {
		err = fmt.Errorf("evaluate policies: %w", err)
		endSpan(span, err)
		return verdict.Verdict{}, err
	}
	if span != nil {
		span.SetAttributes(
			attribute.Int("tollgate.policy.count", len(st.Policies.Policies())),
			attribute.Int("tollgate.policy.denied", len(pv.Reasons)),
			attribute.Int("tollgate.policy.warnings", len(pv.Warnings)),
		)
		endSpan(span, nil)
	}
	return pv, nil
}

// reorder puts quota reasons before policy reasons, the order users read
// the checks in (limits, quota, policy) regardless of evaluation order.
func reorder(v verdict.Verdict) verdict.Verdict {
	rank := func(code string) int {
		switch {
		case strings.HasPrefix(code, "quota."):
			return 1
		case strings.HasPrefix(code, "policy."):
			return 2
		}
		return 0
	}
	sort.SliceStable(v.Reasons, func(i, j int) bool { return rank(v.Reasons[i].Code) < rank(v.Reasons[j].Code) })
	return v
}

// skipped reports requests Tollgate never acts on: its own namespace,
// operations other than CREATE and UPDATE, and subresources it does not own.
func (p *Pipeline) skipped(req Request) bool {
	if p.ownNamespace != "" && req.Namespace == p.ownNamespace {
		return true
	}
	if req.Operation != "CREATE" && req.Operation != "UPDATE" {
		return true
	}
	switch req.SubResource {
	case "", "resize", "ephemeralcontainers":
		return false
	}
	return true
}

// defaulted reports whether LimitRange semantics apply: upstream runs them on
// CREATE and on pods/resize, never on other updates.
func (p *Pipeline) defaulted(req Request) bool {
	if p.skipped(req) {
		return false
	}
	return (req.Operation == "CREATE" && req.SubResource == "") ||
		(req.Operation == "UPDATE" && req.SubResource == "resize")
}

func (p *Pipeline) limitInputs(ctx context.Context, namespace string) (defaults.Inputs, *corev1.Namespace, error) {
	ns, err := p.facts.Namespace(ctx, namespace)
	if err != nil {
		return defaults.Inputs{}, nil, fmt.Errorf("read namespace %q: %w", namespace, err)
	}
	lrs, err := p.facts.LimitRanges(ctx, namespace)
	if err != nil {
		return defaults.Inputs{}, nil, fmt.Errorf("read limit ranges of namespace %q: %w", namespace, err)
	}
	return defaults.Inputs{LimitRanges: lrs, Profiles: p.State().Config.ProfilesFor(ns)}, ns, nil
}

// terminating reports an old object marked for deletion; upstream skips limits then.
func terminating(old *corev1.Pod) bool { return old != nil && old.DeletionTimestamp != nil }
