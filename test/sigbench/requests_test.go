package sigbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tollgate-dev/tollgate/pkg/sigverify"
)

// load pushes the cosign-made registry fixture's images of host (and every
// untagged manifest: signatures, attestations) to l.
func (l *loop) load(t *testing.T, host string) {
	t.Helper()
	p, err := layout.FromPath(filepath.Join("..", "fixtures", "signatures", "registry"))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := p.ImageIndex()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		refName := d.Annotations[sigverify.RefNameAnnotation]
		if refName != "" && !strings.HasPrefix(refName, host+"/") {
			continue
		}
		at := "@" + d.Digest.String()
		if refName != "" {
			at = ":" + strings.TrimPrefix(refName, host+"/app:")
		}
		ref, err := name.ParseReference(l.host() + "/app" + at)
		if err != nil {
			t.Fatal(err)
		}
		if d.MediaType.IsIndex() {
			ii, _ := idx.ImageIndex(d.Digest)
			err = remote.WriteIndex(ref, ii, l.opt())
		} else {
			img, _ := idx.Image(d.Digest)
			err = remote.Write(ref, img, l.opt())
		}
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
}

// TestRegistryRequestsPerDigest counts the requests one verification of a
// new digest makes (connections and auth warm), per signature layout and
// registry kind (docs/performance.md); each image must verify as signed.
func TestRegistryRequestsPerDigest(t *testing.T) {
	pub, err := os.ReadFile(filepath.Join("..", "fixtures", "signatures", "registry", "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host, tag string
		referrersAPI    bool
		want            int64
	}{
		// HEAD tag; GET .sig (404); GET referrers; GET bundle manifest, blob.
		{"bundle, referrers API", "oci11.registry.test", "bundle", true, 5},
		// The same, with GET referrers answering 404 and then GET of the fallback tag.
		{"bundle, fallback tag (Distribution)", "legacy.registry.test", "fallback-bundle", false, 6},
		// HEAD tag; GET .sig, GET payload; GET referrers (404), GET fallback tag (404).
		{"classic .sig (Distribution)", "legacy.registry.test", "classic", false, 5},
		// HEAD tag; GET .sig, GET payload; GET referrers (empty).
		{"classic .sig, referrers API", "legacy.registry.test", "classic", true, 4},
	} {
		l := newLoop(t, tc.referrersAPI)
		l.load(t, tc.host)
		cfg := verifyingConfig(t, l)
		cfg = strings.Replace(cfg, indentPEM(l.pubPEM(t)), indentPEM(string(pub)), 1)
		s := newScene(t, cfg)
		warm := l.host() + "/app:" + tc.tag
		s.validate(t, []string{warm}) // warms connections and auth
		s.fresh()
		before := l.requests.Load()
		s.validate(t, []string{warm})
		got := l.requests.Load() - before
		t.Logf("%s: %d registry requests (tag resolve included)", tc.name, got)
		if got != tc.want {
			t.Errorf("%s: %d registry requests for a new digest, want %d", tc.name, got, tc.want)
		}
	}
}
