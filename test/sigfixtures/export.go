package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/tollgate-dev/tollgate/pkg/sigverify"
)

// exporter copies manifests and blobs from the registries into a layout.
type exporter struct {
	g     *gen
	dir   string
	index []v1.Descriptor
	done  map[string]bool
}

// export writes the OCI layout and the public keys.
func (g *gen) export(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	e := &exporter{g: g, dir: dir, done: map[string]bool{}}
	hosts := []string{HostLegacy, HostOCI11}
	for _, host := range hosts {
		repo, err := name.NewRepository(g.addr(host)+"/app", name.Insecure)
		if err != nil {
			return err
		}
		tags, err := remote.List(repo, g.remote(host)...)
		if err != nil {
			return fmt.Errorf("list %s: %w", repo, err)
		}
		sort.Strings(tags)
		for _, tag := range tags {
			if err := e.manifest(host, repo, tag, host+"/app:"+tag); err != nil {
				return err
			}
		}
	}
	idx := v1.IndexManifest{
		SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: e.index,
		Annotations: map[string]string{sigverify.NoReferrersAnnotation: HostLegacy},
	}
	if err := writeJSON(filepath.Join(dir, "index.json"), idx); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
		return err
	}
	for _, k := range []string{"release", "other"} {
		b, err := os.ReadFile(filepath.Join(g.work, k+".pub"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, k+".pub"), b, 0o644); err != nil {
			return err
		}
	}
	return g.writeTrustedRoot(dir)
}

// manifest exports ref (a tag or digest) with everything it points to and,
// on the referrers host, every referrer of it. refName is "" for
// untagged manifests.
func (e *exporter) manifest(host string, repo name.Repository, ref, refName string) error {
	r, err := name.ParseReference(repo.Name()+refSep(ref)+ref, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(r, e.g.remote(host)...)
	if err != nil {
		return fmt.Errorf("get %s: %w", r, err)
	}
	d := v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	if refName != "" {
		d.Annotations = map[string]string{sigverify.RefNameAnnotation: refName}
	}
	if refName != "" || !e.done[desc.Digest.String()] {
		e.index = append(e.index, d)
	}
	if e.done[desc.Digest.String()] {
		return nil
	}
	e.done[desc.Digest.String()] = true
	if err := e.write(desc.Digest.String(), desc.Manifest); err != nil {
		return err
	}
	if desc.MediaType.IsIndex() {
		var idx v1.IndexManifest
		if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
			return err
		}
		for _, child := range idx.Manifests {
			if err := e.manifest(host, repo, child.Digest.String(), ""); err != nil {
				return err
			}
		}
	} else if err := e.blobs(host, repo, desc.Manifest); err != nil {
		return err
	}
	if host != HostOCI11 {
		return nil
	}
	refs, err := remote.Referrers(repo.Digest(desc.Digest.String()), e.g.remote(host)...)
	if err != nil {
		return fmt.Errorf("referrers of %s: %w", desc.Digest, err)
	}
	im, err := refs.IndexManifest()
	if err != nil {
		return err
	}
	for _, child := range im.Manifests {
		if err := e.manifest(host, repo, child.Digest.String(), ""); err != nil {
			return err
		}
	}
	return nil
}

// blobs exports an image manifest's config and layers.
func (e *exporter) blobs(host string, repo name.Repository, raw []byte) error {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if e.done[b.Digest.String()] {
			continue
		}
		l, err := remote.Layer(repo.Digest(b.Digest.String()), e.g.remote(host)...)
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("blob %s: %w", b.Digest, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("blob %s: %w", b.Digest, err)
		}
		e.done[b.Digest.String()] = true
		if err := e.write(b.Digest.String(), data); err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) write(digest string, data []byte) error {
	h, err := v1.NewHash(digest)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.dir, "blobs", h.Algorithm, h.Hex), data, 0o644)
}

func refSep(ref string) string {
	if len(ref) > 7 && ref[:7] == "sha256:" {
		return "@"
	}
	return ":"
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
