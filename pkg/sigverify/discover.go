package sigverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"golang.org/x/sync/errgroup"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// artifact is one signature or attestation candidate found for a digest.
type artifact struct {
	source   string
	manifest string // digest of the manifest carrying it
	classic  *classicSig
	bundle   *bundle.Bundle
	// malformed is why the artifact could not be read; it is reported as
	// rejected, never as registry trouble.
	malformed string
}

// discover finds every signature and attestation of repo@digest in the
// three places cosign writes them, concurrently, and merges them. Any
// answer that is not definitive fails the whole lookup.
func discover(ctx context.Context, reg Registry, repo, digest string) ([]artifact, error) {
	sigTag, err := tagFor(digest, ".sig")
	if err != nil {
		return nil, err
	}
	fallbackTag, _ := tagFor(digest, "")
	var (
		mu    sync.Mutex
		found []artifact
	)
	add := func(as []artifact) {
		mu.Lock()
		defer mu.Unlock()
		found = append(found, as...)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		as, err := classicSignatures(gctx, reg, repo, sigTag)
		add(as)
		return err
	})
	g.Go(func() error {
		descs, err := reg.Referrers(gctx, repo, digest)
		if errors.Is(err, ErrReferrersUnsupported) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list referrers: %w", err)
		}
		as, err := bundles(gctx, reg, repo, digest, SourceReferrers, descs)
		add(as)
		return err
	})
	if lister, ok := reg.(interface{ listsFallbackTag() bool }); ok && lister.listsFallbackTag() {
		// Its referrers listing already came from the fallback tag where
		// the registry has no API (source "referrers" then covers both).
		return waitFound(g, &found)
	}
	g.Go(func() error {
		m, err := reg.Manifest(gctx, repo, fallbackTag)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("referrers tag %s: %w", fallbackTag, err)
		}
		var idx v1.IndexManifest
		if err := json.Unmarshal(m.Raw, &idx); err != nil {
			return fmt.Errorf("referrers tag %s: not an image index: %w", fallbackTag, err)
		}
		as, err := bundles(gctx, reg, repo, digest, SourceFallbackTag, idx.Manifests)
		add(as)
		return err
	})
	return waitFound(g, &found)
}

func waitFound(g *errgroup.Group, found *[]artifact) ([]artifact, error) {
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return dedupe(*found), nil
}

// dedupe keeps one artifact per manifest digest (the referrers API and the
// fallback tag may list the same one), preferring the referrers API.
func dedupe(as []artifact) []artifact {
	seen := map[string]bool{}
	out := make([]artifact, 0, len(as))
	for _, src := range []string{SourceTag, SourceReferrers, SourceFallbackTag} {
		for _, a := range as {
			key := a.manifest + "/" + classicKey(a)
			if a.source == src && !seen[key] {
				seen[key] = true
				out = append(out, a)
			}
		}
	}
	return out
}

func classicKey(a artifact) string {
	if a.classic == nil {
		return ""
	}
	return a.classic.layer
}

// bundles fetches the Sigstore bundles among descs. Descriptors of another
// artifact type (SBOMs, other tools' artifacts) are skipped without a
// fetch; an empty or missing type is fetched, since cosign's fallback index
// has been seen to carry the empty type.
func bundles(ctx context.Context, reg Registry, repo, digest, source string, descs []v1.Descriptor) ([]artifact, error) {
	var out []artifact
	for _, d := range descs {
		at := d.ArtifactType
		if at != "" && !strings.HasPrefix(at, bundleMediaPrefix) && at != "application/vnd.oci.empty.v1+json" {
			continue
		}
		if len(out) == maxArtifacts {
			break
		}
		a, err := fetchBundle(ctx, reg, repo, digest, source, d.Digest.String())
		if err != nil {
			return out, err
		}
		if a != nil {
			out = append(out, *a)
		}
	}
	return out, nil
}

// fetchBundle reads one referrer manifest and its bundle layer; nil when
// the manifest holds no bundle.
func fetchBundle(ctx context.Context, reg Registry, repo, digest, source, ref string) (*artifact, error) {
	m, err := reg.Manifest(ctx, repo, ref)
	if err != nil {
		return nil, fmt.Errorf("referrer %s: %w", ref, err)
	}
	a := &artifact{source: source, manifest: m.Digest}
	var man v1.Manifest
	if err := json.Unmarshal(m.Raw, &man); err != nil {
		a.malformed = provenance.OneLine("referrer manifest is not an image manifest: " + err.Error())
		return a, nil
	}
	if man.Subject == nil || man.Subject.Digest.String() != digest {
		// Listed under this digest but about another image: a transplant.
		a.malformed = "referrer's subject is not this image"
		return a, nil
	}
	var layer *v1.Descriptor
	for i := range man.Layers {
		if strings.HasPrefix(string(man.Layers[i].MediaType), bundleMediaPrefix) {
			layer = &man.Layers[i]
			break
		}
	}
	if layer == nil {
		return nil, nil
	}
	raw, err := reg.Blob(ctx, repo, layer.Digest.String(), maxBlobBytes)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", layer.Digest, err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		a.malformed = provenance.OneLine("not a Sigstore bundle: " + err.Error())
		return a, nil
	}
	a.bundle = &b
	return a, nil
}
