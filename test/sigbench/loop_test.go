// Package sigbench measures signature verification (issue 16, item 8):
// warm and cold costs and registry requests, against go-containerregistry's
// registry served over TLS on loopback, through the server's own path
// (pkg/registry's client, the verification cache, the pipeline). Figures
// go to docs/performance.md; nothing here asserts a time.
package sigbench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// loop is an in-process registry on a loopback TLS port that counts the
// requests Tollgate makes (setup requests carry X-Setup and are not counted).
type loop struct {
	srv      *httptest.Server
	requests atomic.Int64
	key      *ecdsa.PrivateKey
}

func newLoop(tb testing.TB, referrers bool) *loop {
	tb.Helper()
	l := &loop{}
	inner := registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
	l.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Setup") == "" {
			l.requests.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	tb.Cleanup(l.srv.Close)
	var err error
	if l.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	return l
}

func (l *loop) host() string { return strings.TrimPrefix(l.srv.URL, "https://") }

func (l *loop) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.srv.Certificate().Raw}))
}

func (l *loop) pubPEM(tb testing.TB) string {
	tb.Helper()
	b, err := cryptoutils.MarshalPublicKeyToPEM(l.key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

type setup struct{ base http.RoundTripper }

func (s setup) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Setup", "1")
	return s.base.RoundTrip(r)
}

func (l *loop) opt() remote.Option { return remote.WithTransport(setup{l.srv.Client().Transport}) }

// pushSigned pushes a random image under repo:tag and signs it with the
// loop's key in cosign's classic layout (sha256-<hex>.sig), as
// `cosign sign --new-bundle-format=false` writes it. It returns the digest.
func (l *loop) pushSigned(tb testing.TB, repo, tag string) string {
	tb.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		tb.Fatal(err)
	}
	ref, _ := name.NewTag(l.host()+"/"+repo+":"+tag, name.Insecure)
	if err := remote.Write(ref, img, l.opt()); err != nil {
		tb.Fatal(err)
	}
	d, _ := img.Digest()
	payload := []byte(`{"critical":{"identity":{"docker-reference":"` + l.host() + "/" + repo + `"},"image":{"docker-manifest-digest":"` + d.String() + `"},"type":"cosign container image signature"},"optional":null}`)
	sum := sha256.Sum256(payload)
	sig, err := l.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	sigImg, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json"),
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		tb.Fatal(err)
	}
	sigRef, _ := name.NewTag(l.host()+"/"+repo+":"+strings.Replace(d.String(), ":", "-", 1)+".sig", name.Insecure)
	if err := remote.Write(sigRef, sigImg, l.opt()); err != nil {
		tb.Fatal(err)
	}
	return d.String()
}

// percentiles reports p50 and p99 of ds as benchmark metrics.
func percentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))].Microseconds()) }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
