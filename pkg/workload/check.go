package workload

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/provenance"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Input is one workload admission with the facts of its namespace.
type Input struct {
	// Request is the workload's request; the template's Pod is evaluated as
	// a CREATE by the same user.
	Request policy.Request
	// Object is the workload after the request; for a scale subresource,
	// its target with the new replica count.
	Object *Workload
	// Old is the stored workload on UPDATE, nil on CREATE.
	Old            *Workload
	Namespace      *corev1.Namespace
	Limits         defaults.Inputs
	Quotas         []corev1.ResourceQuota
	Policies       *policy.Engine
	PolicySettings *policy.Compiled
	Options        Options
	// Uncomputable names a quantity of Object's or Old's template too
	// large to compute with (the caller's guard finds it); "" when none.
	// Its limits and quota checks are then skipped, with a warning.
	Uncomputable string
	// Images are the verification results of the template's images (see
	// policy.Input.Images); nil when nothing was verified.
	Images map[string]provenance.Image
}

// Check runs the Pod decisions on the Pod the workload's controller would
// create (defaults on a copy, never patched into the template; then limits
// and policies), and quota with the workload's arithmetic (see planFor).
// Each check reports under its own Mode. The error is a malfunction only.
func Check(ctx context.Context, in Input) (verdict.Verdict, error) {
	w := in.Object
	if !in.Options.Enabled || w == nil || w.Template == nil {
		return verdict.Verdict{}, nil
	}
	p := planFor(w, in.Old)
	if !p.template && len(p.asks) == 0 {
		return verdict.Verdict{}, nil
	}
	pod := w.Pod()
	var parts []verdict.Verdict
	huge := in.Uncomputable
	if huge != "" {
		// Exact arithmetic on it would take minutes; the Pods' own
		// admission (and the in-tree plugins) still judge them.
		var v verdict.Verdict
		v.Warn(verdict.CodeUncomputable, nil, fmt.Sprintf(
			"%s: %s is too large for Tollgate to compute with (10^100 or more): limits and quota checks were skipped", w.Subject(), huge))
		parts = append(parts, v)
	}
	applied := defaults.Result{}
	if huge == "" {
		applied = defaults.Apply(pod, in.Limits)
	}
	if p.template && in.Options.Limits != ModeOff && huge == "" {
		parts = append(parts,
			relay(verdict.Verdict{Warnings: applied.Warnings}, in.Options.Limits, w, true),
			relay(defaults.Validate(pod, in.Limits), in.Options.Limits, w, true))
	}
	if in.Options.Quota != ModeOff && len(p.asks) > 0 && huge == "" {
		var oldPod *corev1.Pod
		if in.Old != nil && in.Old.Template != nil {
			oldPod = in.Old.Pod()
			defaults.Apply(oldPod, in.Limits)
		}
		parts = append(parts, checkQuota(in, p.asks, pod, oldPod))
	}
	if p.template && in.Options.Policies != ModeOff && in.Policies != nil {
		req := in.Request
		req.Operation, req.SubResource, req.Name = "CREATE", "", ""
		pv, err := in.Policies.EvaluateCompiled(ctx, policy.Input{Request: req, Object: pod, Namespace: in.Namespace, Images: in.Images}, in.PolicySettings)
		if err != nil {
			return verdict.Verdict{}, fmt.Errorf("evaluate policies on the pod template of %s: %w", w.Subject(), err)
		}
		parts = append(parts, relay(pv, in.Options.Policies, w, false))
	}
	return verdict.Merge(parts...), nil
}

// relay restates a Pod verdict about the template's Pod for the workload:
// under ModeDeny its reasons deny the workload, with field paths into the
// template; under ModeWarn they become warnings (with their code in front
// when withCode). Warnings stay warnings. Codes and resources are kept.
func relay(v verdict.Verdict, mode Mode, w *Workload, withCode bool) verdict.Verdict {
	var out verdict.Verdict
	for _, r := range v.Reasons {
		msg := fmt.Sprintf("%s: its Pods will be rejected: %s", w.Subject(), r.Message)
		switch {
		case mode == ModeDeny:
			out.Reasons = append(out.Reasons, verdict.Reason{Code: r.Code, Path: templatePath(w, r.Path), Message: msg, Resources: r.Resources})
		case withCode:
			out.Warn(r.Code, r.Resources, r.Code+": "+msg)
		default:
			out.Warn(r.Code, r.Resources, msg)
		}
	}
	for _, m := range v.Warnings {
		out.Warn(m.Code, m.Resources, fmt.Sprintf("%s: Pod template: %s", w.Subject(), m.Message))
	}
	return out
}

// checkQuota asks the quotas each question of the plan in order and stops
// at the first one with findings: a rollout that stalls at its surge does
// not need its end state explained too.
func checkQuota(in Input, asks []ask, pod, oldPod *corev1.Pod) verdict.Verdict {
	var v verdict.Verdict
	for _, a := range asks {
		res := quota.CheckCopies(quota.CopiesInput{
			Pod: pod, Copies: a.copies, Freed: oldPod, FreedCopies: a.freed, Quotas: in.Quotas,
		})
		found := describe(in.Object, a, res)
		for _, f := range found {
			if in.Options.Quota == ModeDeny {
				v.Reasons = append(v.Reasons, verdict.Reason{Code: f.code, Path: f.path, Message: f.message, Resources: f.resources})
			} else {
				v.Warn(f.code, f.resources, f.code+": "+f.message)
			}
		}
		if len(found) > 0 {
			break
		}
	}
	return v
}

// templatePath is a Pod field path as a path into the workload's template.
func templatePath(w *Workload, podPath string) string {
	if podPath == "" {
		return w.TemplatePath
	}
	return w.TemplatePath + "." + podPath
}
