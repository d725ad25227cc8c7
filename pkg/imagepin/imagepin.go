// Package imagepin is the plumbing of tag to digest pinning: it lists what
// the pinning policy selects in a Pod (pure, pkg/pinning), reads the Pod's
// pull secrets only when there is something to resolve, resolves each
// distinct reference once through pkg/registry, and hands the results back
// to the policy, which rewrites the Pod.
package imagepin

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// Namespaces reads a namespace (pkg/cluster.Cache); nil when it does not exist.
type Namespaces interface {
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// Pinner pins the image tags of Pods.
type Pinner struct {
	Policy     *pinning.Policy
	Resolver   registry.Resolver
	Namespaces Namespaces
	// Secrets reads pull secrets and service accounts with GET; it should be
	// uncached (the manager's API reader) so no informer holds secrets.
	Secrets client.Reader
}

// Enabled reports whether any pinning rule exists.
func (p *Pinner) Enabled() bool { return p != nil && p.Policy.Enabled() }

// Pin rewrites pod's selected tags to digests (pod must be writable:
// images, volumes and annotations change). The error is for facts it could
// not read (the namespace); registry failures are in the outcome, as
// warnings or denials by pinning.onError.
func (p *Pinner) Pin(ctx context.Context, namespace string, pod *corev1.Pod) (pinning.Outcome, error) {
	if !p.Enabled() {
		return pinning.Outcome{}, nil
	}
	var nsLabels labels.Set
	ns, err := p.Namespaces.Namespace(ctx, namespace)
	if err != nil {
		return pinning.Outcome{}, fmt.Errorf("pinning: %w", err)
	}
	if ns != nil {
		nsLabels = ns.Labels
	}
	cands := p.Policy.Candidates(&pod.Spec, nsLabels)
	if len(cands) == 0 {
		return pinning.Outcome{}, nil // nothing selected: no secret read, no registry contact
	}
	return p.Policy.Apply(pod, cands, p.resolve(ctx, namespace, pod, cands)), nil
}

// resolve looks up each distinct candidate reference concurrently.
func (p *Pinner) resolve(ctx context.Context, namespace string, pod *corev1.Pod, cands []pinning.Candidate) map[string]pinning.Resolution {
	out := make(map[string]pinning.Resolution, len(cands))
	keys, err := p.keychain(ctx, namespace, pod)
	if err != nil {
		for _, c := range cands {
			out[c.Ref.Original] = pinning.Resolution{Err: err}
		}
		return out
	}
	var distinct []pinning.Candidate
	for _, c := range cands {
		if _, dup := out[c.Ref.Original]; !dup {
			out[c.Ref.Original] = pinning.Resolution{}
			distinct = append(distinct, c)
		}
	}
	results := make([]pinning.Resolution, len(distinct))
	var wg sync.WaitGroup
	for i, c := range distinct {
		wg.Go(func() {
			d, err := p.Resolver.Resolve(ctx, c.Ref, keys)
			results[i] = pinning.Resolution{Digest: d, Err: err, Transient: registry.IsTransient(err)}
		})
	}
	wg.Wait()
	for i, c := range distinct {
		out[c.Ref.Original] = results[i]
	}
	return out
}

// keychain is the Pod's pull secrets and its service account's.
func (p *Pinner) keychain(ctx context.Context, namespace string, pod *corev1.Pod) (registry.Keychain, error) {
	if p.Secrets == nil {
		return nil, nil
	}
	names := make([]string, 0, len(pod.Spec.ImagePullSecrets))
	for _, s := range pod.Spec.ImagePullSecrets {
		names = append(names, s.Name)
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	kc, err := registry.PullSecrets(ctx, p.Secrets, namespace, sa, names)
	if err != nil {
		return nil, fmt.Errorf("pull secrets: %w", err)
	}
	return kc, nil
}

// Holder holds the Pinner of the current config; a reload swaps it.
type Holder struct{ p atomic.Pointer[Pinner] }

// Load returns the current Pinner (nil before the first Store).
func (h *Holder) Load() *Pinner {
	if h == nil {
		return nil
	}
	return h.p.Load()
}

// Store makes p current.
func (h *Holder) Store(p *Pinner) { h.p.Store(p) }

// Build makes the Pinner of cfg: a registry client of its own (fresh caches)
// when pinning has rules, else a disabled Pinner that contacts nothing.
func Build(cfg *config.Config, obs registry.Observer, ns Namespaces, secrets client.Reader) (*Pinner, error) {
	policy := cfg.PinningPolicy()
	p := &Pinner{Policy: policy, Namespaces: ns, Secrets: secrets}
	if !policy.Enabled() {
		return p, nil
	}
	c, err := registry.New(cfg.Registries, registry.Options{TagTTL: cfg.Pinning.TagTTL.Duration, Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	p.Resolver = c
	return p, nil
}
