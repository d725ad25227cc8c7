// Package imagepin is the plumbing of tag to digest pinning: for the
// references the pinning policy selected (pkg/pinning, pure), it reads the
// Pod's pull secrets and its service account's, and resolves each distinct
// reference once through pkg/registry. The pipeline hands the results back
// to the policy, which rewrites the Pod.
package imagepin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// Lookups resolves the tags pinning selected (pipeline.ImageLookups).
type Lookups struct {
	Resolver registry.Resolver
	// Secrets reads pull secrets and service accounts with GET; it should be
	// uncached (the manager's API reader) so no informer holds secrets. nil
	// sends no credentials.
	Secrets client.Reader
}

// Resolve looks up each distinct candidate reference concurrently, with
// the credentials of the Pod in namespace. Every candidate gets a result.
func (l *Lookups) Resolve(ctx context.Context, namespace string, pod *corev1.Pod, cands []pinning.Candidate) map[string]pinning.Resolution {
	out := make(map[string]pinning.Resolution, len(cands))
	keys, err := l.keychain(ctx, namespace, pod, cands)
	if err != nil {
		for _, c := range cands {
			out[c.Ref.Original] = pinning.Resolution{Err: err, Transient: !errors.Is(err, registry.ErrTooManyPullSecrets)}
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
			d, err := l.Resolver.Resolve(ctx, c.Ref, keys)
			results[i] = pinning.Resolution{Digest: d, Err: err, Transient: registry.IsTransient(err)}
		})
	}
	wg.Wait()
	for i, c := range distinct {
		out[c.Ref.Original] = results[i]
	}
	return out
}

// secretUser is a resolver that says which lookups send pull secrets.
type secretUser interface {
	UsesPullSecrets(ref imageref.Ref) bool
}

// keychain is the Pod's pull secrets and its service account's, read only
// when a lookup will send them (not for anonymous or unselected registries).
func (l *Lookups) keychain(ctx context.Context, namespace string, pod *corev1.Pod, cands []pinning.Candidate) (registry.Keychain, error) {
	if l.Secrets == nil {
		return nil, nil
	}
	if su, ok := l.Resolver.(secretUser); ok && !slices.ContainsFunc(cands, func(c pinning.Candidate) bool { return su.UsesPullSecrets(c.Ref) }) {
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
	kc, err := registry.PullSecrets(ctx, l.Secrets, namespace, sa, names)
	if err != nil {
		return nil, fmt.Errorf("read pull secrets: %w", err)
	}
	return kc, nil
}

// Build makes the lookups for cfg: a registry client of its own (fresh
// caches, so a reload never serves a digest under old settings) when
// pinning has rules; nil when it has none, and nothing is ever contacted.
func Build(cfg *config.Config, obs registry.Observer, secrets client.Reader) (*Lookups, error) {
	if !cfg.PinningPolicy().Enabled() {
		return nil, nil
	}
	c, err := registry.New(cfg.Registries, registry.Options{TagTTL: cfg.Pinning.TagTTL.Duration, Observer: obs})
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return &Lookups{Resolver: c, Secrets: secrets}, nil
}
