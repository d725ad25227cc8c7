package sigverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// Remote is the server's registry access for verification: pkg/registry's
// client (only registries a registries.access rule selects, per-rule CA,
// timeout and insecure switch, global and per-host bounds) with the Pod's
// pull secrets and its service account's.
type Remote struct {
	Client *registry.Client
	// Secrets reads pull secrets with GET (uncached); nil is anonymous.
	Secrets client.Reader
}

// Registries implements Registries. Pull secrets are read once per Pod,
// when the first image whose registries.access rule uses them needs them.
func (r *Remote) Registries(_ context.Context, pod *corev1.Pod) RegistryFor {
	pr := &podRegistry{remote: r, pod: pod}
	return func(string) Registry { return pr }
}

// podRegistry is the Registry of one Pod's admission.
type podRegistry struct {
	remote *Remote
	pod    *corev1.Pod

	once sync.Once
	keys registry.Keychain
	err  error
}

// listsFallbackTag: pkg/registry's Referrers reads the fallback tag itself
// when the registry has no referrers API.
func (p *podRegistry) listsFallbackTag() bool { return true }

func (p *podRegistry) keychain(ctx context.Context) (registry.Keychain, error) {
	p.once.Do(func() {
		if p.remote.Secrets == nil {
			return
		}
		names := make([]string, 0, len(p.pod.Spec.ImagePullSecrets))
		for _, s := range p.pod.Spec.ImagePullSecrets {
			names = append(names, s.Name)
		}
		sa := p.pod.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		if p.keys, p.err = registry.PullSecrets(ctx, p.remote.Secrets, p.pod.Namespace, sa, names); p.err != nil {
			p.err = fmt.Errorf("read pull secrets: %w", p.err)
		}
	})
	return p.keys, p.err
}

// ref builds the reference of repo at a tag or digest.
func ref(repo, at string) (imageref.Ref, error) {
	sep := ":"
	if _, err := v1.NewHash(at); err == nil {
		sep = "@"
	}
	r, err := imageref.Parse(repo + sep + at)
	if err != nil {
		return imageref.Ref{}, fmt.Errorf("reference %s%s%s: %w", repo, sep, at, err)
	}
	return r, nil
}

// call runs op with the Pod's keychain; a registry's "not found" becomes
// ErrNotFound (definitive), anything else stays registry trouble.
func (p *podRegistry) call(ctx context.Context, repo, at string, op func(imageref.Ref, registry.Keychain) error) error {
	r, err := ref(repo, at)
	if err != nil {
		return err
	}
	var keys registry.Keychain
	if p.remote.Client.UsesPullSecrets(r) { // no secret is read for anonymous or unselected registries
		if keys, err = p.keychain(ctx); err != nil {
			return err
		}
	}
	if err := op(r, keys); err != nil {
		if registry.KindOf(err) == registry.KindNotFound {
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return err
	}
	return nil
}

func (p *podRegistry) Resolve(ctx context.Context, repo, tag string) (string, error) {
	var d string
	err := p.call(ctx, repo, tag, func(r imageref.Ref, keys registry.Keychain) (err error) {
		d, err = p.remote.Client.Resolve(ctx, r, keys)
		return err
	})
	return d, err
}

func (p *podRegistry) Manifest(ctx context.Context, repo, at string) (*Manifest, error) {
	var m registry.Manifest
	err := p.call(ctx, repo, at, func(r imageref.Ref, keys registry.Keychain) (err error) {
		m, err = p.remote.Client.Manifest(ctx, r, keys)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Manifest{Digest: m.Digest, MediaType: mediaType(m.MediaType, m.Raw), Raw: m.Raw}, nil
}

func (p *podRegistry) Referrers(ctx context.Context, repo, digest string) ([]v1.Descriptor, error) {
	var m registry.Manifest
	err := p.call(ctx, repo, digest, func(r imageref.Ref, keys registry.Keychain) (err error) {
		m, err = p.remote.Client.Referrers(ctx, r, digest, "", keys)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil // the repository or digest is gone: nothing refers to it
	}
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(m.Raw, &idx); err != nil {
		return nil, fmt.Errorf("referrers of %s@%s: not an image index: %w", repo, digest, err)
	}
	return idx.Manifests, nil
}

func (p *podRegistry) Blob(ctx context.Context, repo, digest string, max int64) ([]byte, error) {
	var b []byte
	err := p.call(ctx, repo, digest, func(r imageref.Ref, keys registry.Keychain) (err error) {
		b, err = p.remote.Client.Blob(ctx, r, digest, max, keys)
		return err
	})
	return b, err
}
