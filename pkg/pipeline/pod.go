package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Default fills missing resources in pod (in place) on CREATE and on
// pods/resize, as the in-tree LimitRanger does.
func (p *Pipeline) Default(ctx context.Context, req Request, pod *corev1.Pod) (defaults.Result, error) {
	if !p.defaulted(req) || req.Uncomputable != "" {
		return defaults.Result{}, nil // with an uncomputable quantity, Validate says why
	}
	ctx, span := startSpan(ctx, "tollgate.defaults.apply")
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

// Validate checks the final Pod, req.Pod: limits, quota headroom and
// policies. req.OldPod is the stored Pod on UPDATE and nil otherwise.
func (p *Pipeline) Validate(ctx context.Context, req Request) (verdict.Verdict, error) {
	pod, old := req.Pod, req.OldPod
	if p.skipped(req) {
		return verdict.Verdict{}, nil
	}
	st := p.State()
	in, ns, err := p.limitInputs(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, err
	}
	var parts []verdict.Verdict
	huge := req.Uncomputable
	if huge != "" {
		parts = append(parts, verdict.Verdict{Warnings: []verdict.Warning{skipWarning(huge)}})
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
	var oldSpec *corev1.PodSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	pv, err := p.evaluatePolicies(ctx, st, policy.Input{
		Request: req.Request, Object: pod, ObjectJSON: req.ObjectJSON, OldObject: old, Namespace: ns,
		Images: p.verifyImages(ctx, st, pod, oldSpec),
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
			DryRun: req.DryRun, RequestUID: req.UID, Options: st.Config.QuotaOptions(),
		}
		// Quota goes last; a charge is released below when any other step
		// (limits, policies, another quota) denies the same request.
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
	pv, err := st.Policies.EvaluateCompiled(ctx, in, st.PolicySettings())
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
