package sigverify

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestURLFixture: `--registry https://HOST:PORT` serves every image host
// the Pod names from that registry (the repository path is kept), with the
// given CA; a plain http URL is refused unless named so.
func TestURLFixture(t *testing.T) {
	l := newLoopRegistry(t, true)
	digest := l.pushRandom(t, "acme/team/app", "v1") // ghcr.io/acme/team/app, rehosted
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	regs, err := ParseFixture(l.srv.URL, ca).Open("")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Settings{Trust: []TrustSpec{{Name: "release", Registries: []string{"ghcr.io/acme"}, PublicKey: newKeyPEM(t)}}}.Compile("")
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChecker(cfg, regs)
	image := "ghcr.io/acme/team/app:v1"
	img := ch.Check(t.Context(), pod(), []string{image, "docker.io/library/nginx:1"})
	if got := img[image]; got.Error != "" || got.Digest != digest || !got.Resolved || len(got.SignedBy) != 0 {
		t.Errorf("%s: %+v, want resolved to %s through the fixture URL and unsigned", image, got, digest)
	}
	if _, ok := img["docker.io/library/nginx:1"]; ok || len(img) != 1 {
		t.Errorf("results %v: an image no trust selects must get none", img)
	}
	for _, bad := range []string{"https://127.0.0.1:1/path", "http://"} {
		if _, err := ParseFixture(bad, "").Open(""); err == nil || !strings.Contains(err.Error(), "want https://HOST[:PORT]") {
			t.Errorf("%s: error %v, want one saying the accepted form", bad, err)
		}
	}
	if _, err := (Fixture{}).Open(""); err == nil {
		t.Error("an empty fixture opened")
	}
}
