package sigverify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestReferrersAPI: cosign v3 bundles (from the cosign-made fixture) pushed
// to go-containerregistry's in-process registry with the OCI 1.1 referrers
// API are found through the API over HTTPS and verified; an unsigned image
// and an attestation-only image are not signed.
func TestReferrersAPI(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "fixtures", "signatures", "registry")
	reg := newLoopRegistry(t, true)
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	opt := remote.WithTransport(setupTransport{reg.srv.Client().Transport})
	tags := map[string]string{}
	for _, d := range im.Manifests {
		refName := d.Annotations[RefNameAnnotation]
		if refName != "" && !strings.HasPrefix(refName, "oci11.registry.test/") {
			continue
		}
		ref := name.Reference(mustDigest(t, reg.host()+"/app@"+d.Digest.String()))
		if refName != "" {
			tag := strings.TrimPrefix(refName, "oci11.registry.test/app:")
			tags[tag] = d.Digest.String()
			ref, _ = name.NewTag(reg.host()+"/app:"+tag, name.Insecure)
		}
		if d.MediaType.IsIndex() {
			ii, _ := idx.ImageIndex(d.Digest)
			err = remote.WriteIndex(ref, ii, opt)
		} else {
			img, _ := idx.Image(d.Digest)
			err = remote.Write(ref, img, opt)
		}
		if err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
	pem, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	trusts := []*Trust{testTrust(t, string(pem))}
	for tag, want := range map[string]bool{"bundle": true, "signed-attested": true, "unsigned": false, "attested-only": false, "index-signed": true} {
		img := Check(t.Context(), reg.client(), reg.host()+"/app", tags[tag], trusts, Options{})
		if img.Error != "" {
			t.Fatalf("%s: %s", tag, img.Error)
		}
		if got := len(img.SignedBy) == 1; got != want {
			t.Errorf("%s: signed=%v, want %v: %+v", tag, got, want, img)
		}
		for _, s := range img.Signatures {
			if s.Source != SourceReferrers {
				t.Errorf("%s: signature from %s, want referrers", tag, s.Source)
			}
		}
	}
}

func mustDigest(t *testing.T, s string) name.Digest {
	d, err := name.NewDigest(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
