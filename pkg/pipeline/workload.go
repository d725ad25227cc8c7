package pipeline

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// CodeScaleUnchecked warns that a scale request was admitted without its
// quota check, because its target workload could not be read.
const CodeScaleUnchecked = "workload.scale-unchecked"

// ValidateWorkload checks the Pods a workload (or a scale of one) will
// create against limits, quota and policies. The error is a malfunction
// (facts could not be read, policies failed to run).
func (p *Pipeline) ValidateWorkload(ctx context.Context, req Request) (verdict.Verdict, error) {
	st := p.State()
	opts := st.Config.WorkloadOptions()
	if !opts.Enabled || req.Workload == nil || (p.ownNamespace != "" && req.Namespace == p.ownNamespace) {
		return verdict.Verdict{}, nil
	}
	obj, old := req.Workload, req.OldWorkload
	if obj.Kind == workload.KindScale {
		if p.targets == nil || old == nil || obj.Replicas <= old.Replicas || opts.Quota == workload.ModeOff {
			return verdict.Verdict{}, nil // only growth can start Pods
		}
		target, err := p.targets.Workload(ctx, req.Resource, req.Namespace, req.Name)
		if err != nil {
			var v verdict.Verdict
			v.Warn(CodeScaleUnchecked, nil, fmt.Sprintf("%s %q: the new replica count was not checked against quota: %v", req.Resource.Resource, req.Name, err))
			return v, nil
		}
		if target == nil || target.Template == nil {
			return verdict.Verdict{}, nil
		}
		obj, old = scaled(target, obj.Replicas), scaled(target, old.Replicas)
	}
	limits, ns, err := p.limitInputs(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, err
	}
	quotas, err := p.facts.Quotas(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, fmt.Errorf("read resource quotas of namespace %q: %w", req.Namespace, err)
	}
	v, err := workload.Check(ctx, workload.Input{
		Request: req.Request, Object: obj, Old: old, Namespace: ns,
		Limits: limits,
		Quotas: quotas, Policies: st.Policies, PolicySettings: st.PolicySettings(), Options: opts,
		Uncomputable: templateUncomputable(obj, old),
		Images:       p.verifyTemplate(ctx, st, obj, old),
	})
	if err != nil || req.Workload.Kind == workload.KindScale {
		return v, err
	}
	var nsLabels map[string]string
	if ns != nil {
		nsLabels = ns.Labels
	}
	return verdict.Merge(v, wouldPin(st, obj, old, nsLabels)), nil
}

// templateUncomputable is uncomputable for the templates of a workload
// request: the object first, then the old object.
func templateUncomputable(ws ...*workload.Workload) string {
	for _, w := range ws {
		if w != nil && w.Template != nil {
			if at := uncomputable(&w.Template.Spec, w.TemplatePath+".spec"); at != "" {
				return at
			}
		}
	}
	return ""
}

// scaled is the scale target with another replica count; only the replica
// count changes, so Check looks at the growth alone.
func scaled(target *workload.Workload, replicas int) *workload.Workload {
	w := *target
	w.Replicas = replicas
	return &w
}

// verifyTemplate verifies the images of the workload's template that its
// old template does not name, as for a Pod: the feedback then says whether
// its Pods would pass the signature policies now. A tag is resolved again
// when each Pod is admitted, since it may move in between.
func (p *Pipeline) verifyTemplate(ctx context.Context, st *State, obj, old *workload.Workload) map[string]provenance.Image {
	if obj == nil || obj.Template == nil {
		return nil
	}
	var oldSpec *corev1.PodSpec
	if old != nil && old.Template != nil {
		oldSpec = &old.Template.Spec
	}
	return p.verifyImages(ctx, st, obj.Pod(), oldSpec)
}
