// Command sigfixtures builds the registry fixture the signature cases under
// test/fixtures/signatures use: small random images pushed to two
// in-process registries (one with the OCI 1.1 referrers API, one without,
// so cosign falls back to its tag scheme), signed and attested with the
// real cosign CLI, then exported with every manifest and blob to one OCI
// image layout. Nothing leaves loopback; cosign never contacts Rekor,
// Fulcio or TUF (--use-signing-config=false --tlog-upload=false).
//
//	go run ./test/sigfixtures -cosign PATH -out test/fixtures/signatures/registry
package main

import (
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Hosts the fixture's images are named under. oci11 serves the referrers
// API; legacy does not (like CNCF Distribution).
const (
	HostOCI11  = "oci11.registry.test"
	HostLegacy = "legacy.registry.test"
)

func main() {
	cosign := flag.String("cosign", "", "path to the cosign binary")
	out := flag.String("out", "", "output directory (replaced)")
	flag.Parse()
	if *cosign == "" || *out == "" {
		log.Fatal("usage: sigfixtures -cosign PATH -out DIR")
	}
	g, err := newGen(*cosign)
	if err != nil {
		log.Fatal(err)
	}
	defer g.close()
	if err := g.build(); err != nil {
		log.Fatal(err)
	}
	if err := g.export(*out); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out)
}

// gen holds the two registries and a work directory with keys.
type gen struct {
	cosign, work string
	servers      map[string]*httptest.Server // fixture host -> server
	tags         map[string][]string         // fixture host -> repo:tag pushed
	trustedRoot  []byte                      // the keyless case's test Sigstore root
}

func newGen(cosign string) (*gen, error) {
	work, err := os.MkdirTemp("", "sigfixtures")
	if err != nil {
		return nil, err
	}
	g := &gen{cosign: cosign, work: work, servers: map[string]*httptest.Server{}, tags: map[string][]string{}}
	g.servers[HostOCI11] = httptest.NewTLSServer(registry.New(registry.WithReferrersSupport(true)))
	g.servers[HostLegacy] = httptest.NewTLSServer(registry.New())
	// cosign trusts the test servers' certificate through --registry-cacert.
	for _, s := range g.servers {
		if err := os.WriteFile(filepath.Join(work, "ca.crt"), pemCert(s), 0o600); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"release", "other"} {
		if err := g.run("generate-key-pair", "--output-key-prefix", k); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *gen) close() {
	for _, s := range g.servers {
		s.Close()
	}
	os.RemoveAll(g.work)
}

// addr is host:port of a fixture host's server.
func (g *gen) addr(host string) string { return strings.TrimPrefix(g.servers[host].URL, "https://") }

// run runs cosign in the work directory with an empty key password.
func (g *gen) run(args ...string) error {
	cmd := exec.Command(g.cosign, args...)
	cmd.Dir = g.work
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "COSIGN_YES=true", "TUF_ROOT="+filepath.Join(g.work, "tuf"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cosign %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// offline are the flags that keep cosign off the network.
var offline = []string{"--use-signing-config=false", "--tlog-upload=false", "--registry-cacert", "ca.crt", "-y"}

// sign signs host/repo@digest with key; classic picks the simple-signing layout.
func (g *gen) sign(key, host, repo, digest string, classic bool) error {
	args := append([]string{"sign", "--key", key + ".key"}, offline...)
	if classic {
		args = append(args, "--new-bundle-format=false")
	}
	return g.run(append(args, g.addr(host)+"/"+repo+"@"+digest)...)
}

// attest attaches an SLSA provenance statement by key.
func (g *gen) attest(key, host, repo, digest string) error {
	pred := filepath.Join(g.work, "provenance.json")
	doc := `{"buildDefinition":{"buildType":"https://tollgate.dev/fixture-build/v1","externalParameters":{"repository":"https://git.example.test/app","ref":"refs/heads/main"}},"runDetails":{"builder":{"id":"https://ci.example.test/builder"}}}`
	if err := os.WriteFile(pred, []byte(doc), 0o600); err != nil {
		return err
	}
	args := append([]string{"attest", "--key", key + ".key", "--type", "slsaprovenance1", "--predicate", pred}, offline...)
	return g.run(append(args, g.addr(host)+"/"+repo+"@"+digest)...)
}

// push writes a random image under host/repo:tag and returns its digest.
func (g *gen) push(host, repo, tag string) (string, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return "", err
	}
	return g.pushImage(host, repo, tag, img)
}

func (g *gen) pushImage(host, repo, tag string, img v1.Image) (string, error) {
	ref, err := name.NewTag(g.addr(host)+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, g.remote(host)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	g.tags[host] = append(g.tags[host], repo+":"+tag)
	d, err := img.Digest()
	return d.String(), err
}

// pushIndex writes a two-platform index and returns its digest and the
// platform manifests' digests.
func (g *gen) pushIndex(host, repo, tag string) (string, []string, error) {
	idx := v1.ImageIndex(empty.Index)
	var platforms []string
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			return "", nil, err
		}
		d, _ := img.Digest()
		platforms = append(platforms, d.String())
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.NewTag(g.addr(host)+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return "", nil, err
	}
	if err := remote.WriteIndex(ref, idx, g.remote(host)...); err != nil {
		return "", nil, fmt.Errorf("push %s: %w", ref, err)
	}
	g.tags[host] = append(g.tags[host], repo+":"+tag)
	d, err := idx.Digest()
	return d.String(), platforms, err
}

func (g *gen) remote(host string) []remote.Option {
	return []remote.Option{remote.WithTransport(g.servers[host].Client().Transport)}
}

// pemCert is the test server's certificate, for cosign's --registry-cacert.
func pemCert(s *httptest.Server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}
