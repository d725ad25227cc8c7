package sigverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// RefNameAnnotation names a manifest in an OCI layout's index.json. In a
// registry fixture it holds a full reference, "host/repo:tag".
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// NoReferrersAnnotation, on a registry fixture's index.json, lists (comma
// separated) the hosts that answer as a registry without the referrers
// API, like CNCF Distribution: their signatures are found by tag only.
const NoReferrersAnnotation = "dev.tollgate.fixture.no-referrers-api"

// Layout is a registry fixture read from an OCI image layout directory:
// tags come from index.json (full references in RefNameAnnotation), blobs
// from blobs/sha256, and the referrers API is served from the subject field
// of the manifests index.json lists. It answers for every repository whose
// tags it holds; blobs are shared between them, as in one registry.
type Layout struct {
	dir       string
	tags      map[string]string // "host/repo:tag" -> digest
	repos     map[string]bool
	noAPI     map[string]bool
	referrers map[string][]v1.Descriptor // subject digest -> manifests
}

// OpenLayout reads dir's index.json.
func OpenLayout(dir string) (*Layout, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("registry fixture %s: %w", dir, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("registry fixture %s: index.json: %w", dir, err)
	}
	l := &Layout{dir: dir, tags: map[string]string{}, repos: map[string]bool{}, referrers: map[string][]v1.Descriptor{}, noAPI: map[string]bool{}}
	for _, h := range strings.Split(idx.Annotations[NoReferrersAnnotation], ",") {
		l.noAPI[strings.TrimSpace(h)] = true
	}
	for i, d := range idx.Manifests {
		if ref := d.Annotations[RefNameAnnotation]; ref != "" {
			tag, err := name.NewTag(ref, name.StrictValidation)
			if err != nil {
				return nil, fmt.Errorf("registry fixture %s: manifests[%d]: %s %q is not host/repo:tag: %w", dir, i, RefNameAnnotation, ref, err)
			}
			l.tags[tag.Context().Name()+":"+tag.TagStr()] = d.Digest.String()
			l.repos[tag.Context().Name()] = true
		}
		m, err := l.read(d.Digest.String(), maxManifestBytes)
		if err != nil {
			return nil, fmt.Errorf("registry fixture %s: manifests[%d]: %w", dir, i, err)
		}
		var man v1.Manifest
		if json.Unmarshal(m, &man) == nil && man.Subject != nil {
			ref := v1.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, ArtifactType: man.ArtifactType, Annotations: man.Annotations}
			if ref.ArtifactType == "" {
				ref.ArtifactType = string(man.Config.MediaType)
			}
			l.referrers[man.Subject.Digest.String()] = append(l.referrers[man.Subject.Digest.String()], ref)
		}
	}
	return l, nil
}

// Resolve implements Registry.
func (l *Layout) Resolve(_ context.Context, repo, tag string) (string, error) {
	d, ok := l.tags[repo+":"+tag]
	if !ok {
		return "", fmt.Errorf("%s:%s: %w", repo, tag, ErrNotFound)
	}
	return d, nil
}

// Manifest implements Registry.
func (l *Layout) Manifest(ctx context.Context, repo, ref string) (*Manifest, error) {
	digest := ref
	if !strings.HasPrefix(ref, "sha256:") {
		var err error
		if digest, err = l.Resolve(ctx, repo, ref); err != nil {
			return nil, err
		}
	} else if !l.repos[repo] {
		return nil, fmt.Errorf("%s@%s: %w", repo, ref, ErrNotFound)
	}
	raw, err := l.read(digest, maxManifestBytes)
	if err != nil {
		return nil, err
	}
	return &Manifest{Digest: digest, MediaType: mediaType("", raw), Raw: raw}, nil
}

// Referrers implements Registry.
func (l *Layout) Referrers(_ context.Context, repo, digest string) ([]v1.Descriptor, error) {
	if host, _, _ := strings.Cut(repo, "/"); l.noAPI[host] {
		return nil, ErrReferrersUnsupported
	}
	if !l.repos[repo] {
		return nil, nil
	}
	return l.referrers[digest], nil
}

// Blob implements Registry.
func (l *Layout) Blob(_ context.Context, repo, digest string, max int64) ([]byte, error) {
	if !l.repos[repo] {
		return nil, fmt.Errorf("%s@%s: %w", repo, digest, ErrNotFound)
	}
	return l.read(digest, max)
}

func (l *Layout) read(digest string, max int64) ([]byte, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return nil, fmt.Errorf("digest %q: %w", digest, err)
	}
	p := filepath.Join(l.dir, "blobs", h.Algorithm, h.Hex)
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("blob %s: larger than %d bytes", digest, max)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if got := digestOf(b); got != digest {
		return nil, fmt.Errorf("blob %s: content hashes to %s", digest, got)
	}
	return b, nil
}
