package workload

import (
	"context"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Facts are the namespace objects the checks read; pipeline.Facts is this
// interface, so the server's cache and eval's files serve both.
type Facts interface {
	// Namespace returns the namespace, or nil when it does not exist.
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
	LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error)
	Quotas(ctx context.Context, namespace string) ([]corev1.ResourceQuota, error)
}

// Targets find the workload a scale subresource request is about, since a
// Scale carries no Pod template. A missing workload is nil, not an error.
type Targets interface {
	Workload(ctx context.Context, resource metav1.GroupVersionResource, namespace, name string) (*Workload, error)
}

// Env is everything Review needs besides the request.
type Env struct {
	Facts Facts
	// Targets may be nil: scale requests are then not checked.
	Targets        Targets
	Policies       *policy.Engine
	PolicySettings policy.Settings
	// ProfilesFor returns the config's defaults profiles for a namespace.
	ProfilesFor func(*corev1.Namespace) []defaults.Profile
	Options     Options
	// OwnNamespace is never acted on, so Tollgate cannot lock itself out.
	OwnNamespace string
}

// Request is a decoded workload admission request.
type Request struct {
	policy.Request
	Resource metav1.GroupVersionResource
	Object   *Workload
	Old      *Workload // UPDATE only
}

// DecodeRequest reads a workload admission request. Object is nil for
// operations other than CREATE and UPDATE. An error means a bad request.
func DecodeRequest(ar *admissionv1.AdmissionRequest) (Request, error) {
	if ar == nil {
		return Request{}, errors.New("admission review has no request")
	}
	if !Supported(ar.Kind) {
		return Request{}, fmt.Errorf("kind %s: %w", ar.Kind.String(), ErrUnsupported)
	}
	req := Request{
		Request: policy.Request{
			Operation: string(ar.Operation), SubResource: ar.SubResource, Namespace: ar.Namespace,
			Name: ar.Name, DryRun: ar.DryRun != nil && *ar.DryRun, UserInfo: ar.UserInfo,
		},
		Resource: ar.Resource,
	}
	if req.Namespace == "" {
		return Request{}, errors.New("request has no namespace: workloads are namespaced")
	}
	if ar.Operation != admissionv1.Create && ar.Operation != admissionv1.Update {
		return req, nil
	}
	var err error
	if req.Object, err = Decode(ar.Kind, ar.Object.Raw); err != nil {
		return Request{}, fmt.Errorf("request.object: %w", err)
	}
	if ar.Operation == admissionv1.Update {
		if req.Old, err = Decode(ar.Kind, ar.OldObject.Raw); err != nil {
			return Request{}, fmt.Errorf("request.oldObject: %w", err)
		}
	}
	for _, w := range []*Workload{req.Object, req.Old} {
		if w != nil {
			w.Namespace = req.Namespace // the request's namespace is authoritative
			if w.Name == "" {
				w.Name = req.Name
			}
		}
	}
	return req, nil
}

// Review gathers the facts for a decoded request and runs Check. The error
// is a malfunction (facts could not be read, policies failed to run).
func Review(ctx context.Context, env Env, req Request) (verdict.Verdict, error) {
	if !env.Options.Enabled || req.Object == nil || (env.OwnNamespace != "" && req.Namespace == env.OwnNamespace) {
		return verdict.Verdict{}, nil
	}
	obj, old := req.Object, req.Old
	if obj.Kind == KindScale {
		if env.Targets == nil || old == nil || obj.Replicas <= old.Replicas || env.Options.Quota == ModeOff {
			return verdict.Verdict{}, nil // only growth can start Pods
		}
		target, err := env.Targets.Workload(ctx, req.Resource, req.Namespace, req.Name)
		if err != nil {
			var v verdict.Verdict
			v.Warn(fmt.Sprintf("%s %q: the new replica count was not checked against quota: %v", req.Resource.Resource, req.Name, err))
			return v, nil
		}
		if target == nil || target.Template == nil {
			return verdict.Verdict{}, nil
		}
		obj, old = scaled(target, obj.Replicas), scaled(target, old.Replicas)
	}
	ns, err := env.Facts.Namespace(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, fmt.Errorf("read namespace %q: %w", req.Namespace, err)
	}
	lrs, err := env.Facts.LimitRanges(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, fmt.Errorf("read limit ranges of namespace %q: %w", req.Namespace, err)
	}
	quotas, err := env.Facts.Quotas(ctx, req.Namespace)
	if err != nil {
		return verdict.Verdict{}, fmt.Errorf("read resource quotas of namespace %q: %w", req.Namespace, err)
	}
	var profiles []defaults.Profile
	if env.ProfilesFor != nil {
		profiles = env.ProfilesFor(ns)
	}
	return Check(ctx, Input{
		Request: req.Request, Object: obj, Old: old, Namespace: ns,
		Limits:   defaults.Inputs{LimitRanges: lrs, Profiles: profiles},
		Quotas:   quotas,
		Policies: env.Policies, PolicySettings: env.PolicySettings, Options: env.Options,
	})
}

// scaled is the scale target with another replica count; only the replica
// count changes, so Check looks at the growth alone.
func scaled(target *Workload, replicas int) *Workload {
	w := *target
	w.Replicas = replicas
	return &w
}
