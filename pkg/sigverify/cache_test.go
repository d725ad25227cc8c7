package sigverify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// loopRegistry is go-containerregistry's in-process registry on a loopback
// TLS port, with a switch that makes it answer 429 and a request counter.
type loopRegistry struct {
	srv      *httptest.Server
	requests atomic.Int64
	throttle atomic.Bool
	gate     chan struct{} // when set, requests wait for it to close
}

func newLoopRegistry(t testing.TB, referrers bool) *loopRegistry {
	t.Helper()
	l := &loopRegistry{}
	inner := registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
	l.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Setup") == "" {
			l.requests.Add(1)
			if l.gate != nil {
				<-l.gate
			}
			if l.throttle.Load() {
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS"}]}`, http.StatusTooManyRequests)
				return
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *loopRegistry) host() string { return strings.TrimPrefix(l.srv.URL, "https://") }

func (l *loopRegistry) client() *HTTPRegistry { return &HTTPRegistry{Base: l.srv.Client().Transport} }

// setupTransport marks requests made to prepare a test so they are not counted.
type setupTransport struct{ base http.RoundTripper }

func (s setupTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Setup", "1")
	return s.base.RoundTrip(r)
}

// pushRandom pushes a random image and returns its digest.
func (l *loopRegistry) pushRandom(t testing.TB, repo, tag string) string {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(l.host()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(setupTransport{l.srv.Client().Transport})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

type countingObserver struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *countingObserver) CacheLookup(r string) { o.add("lookup." + r) }
func (o *countingObserver) Verified(outcome string, _ time.Duration) {
	o.add("verified." + outcome)
}
func (o *countingObserver) add(k string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[k]++
}
func (o *countingObserver) get(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[k]
}

func testTrust(t testing.TB, pem string) *Trust {
	t.Helper()
	tr, err := TrustSpec{Name: "release", Registries: []string{"*"}, PublicKey: pem}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// newKeyPEM is a fresh P-256 public key in PEM.
func newKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem)
}

// TestCacheSharesOneVerification: 100 concurrent checks of one new digest
// make one verification and the registry requests of one.
func TestCacheSharesOneVerification(t *testing.T) {
	reg := newLoopRegistry(t, true)
	digest := reg.pushRandom(t, "app", "v1")
	reg.gate = make(chan struct{})
	obs := &countingObserver{}
	c := NewCache(CacheOptions{SignedTTL: time.Minute, UnsignedTTL: time.Minute, Timeout: 10 * time.Second}, obs)
	trusts := []*Trust{testTrust(t, newKeyPEM(t))}
	client := reg.client()
	var wg sync.WaitGroup
	results := make([]Image, 100)
	for i := range results {
		wg.Go(func() { results[i] = c.Check(t.Context(), client, reg.host()+"/app", digest, trusts, Options{}) })
	}
	// Let every caller join before the registry answers.
	for obs.get("lookup.miss") == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	close(reg.gate)
	wg.Wait()
	for i, img := range results {
		if img.Error != "" || len(img.SignedBy) != 0 || img.Digest != digest {
			t.Fatalf("result %d: %+v", i, img)
		}
	}
	if n := obs.get("verified.unsigned"); n != 1 {
		t.Errorf("%d verifications, want 1", n)
	}
	// The /v2/ ping of the new connection, then the sig tag, the
	// referrers listing and the fallback tag.
	if n := reg.requests.Load(); n != 4 {
		t.Errorf("%d registry requests, want 4", n)
	}
	c.Check(t.Context(), client, reg.host()+"/app", digest, trusts, Options{})
	if n := reg.requests.Load(); n != 4 {
		t.Errorf("a cached answer still made requests: %d", n)
	}
}

// TestCacheNeverKeepsRegistryTrouble: a 429 is an error, not "unsigned",
// and the next check asks the registry again.
func TestCacheNeverKeepsRegistryTrouble(t *testing.T) {
	reg := newLoopRegistry(t, true)
	digest := reg.pushRandom(t, "app", "v1")
	c := NewCache(CacheOptions{SignedTTL: time.Minute, UnsignedTTL: time.Minute, Timeout: 10 * time.Second}, nil)
	trusts := []*Trust{testTrust(t, newKeyPEM(t))}
	client := reg.client()
	// Connect (and authenticate) before the registry starts throttling.
	c.Check(t.Context(), client, reg.host()+"/app", reg.pushRandom(t, "app", "other"), trusts, Options{})
	reg.throttle.Store(true)
	img := c.Check(t.Context(), client, reg.host()+"/app", digest, trusts, Options{})
	if img.Error == "" || !strings.Contains(img.Error, "429") {
		t.Fatalf("throttled registry: want an error naming 429, got %+v", img)
	}
	reg.throttle.Store(false)
	before := reg.requests.Load()
	img = c.Check(t.Context(), client, reg.host()+"/app", digest, trusts, Options{})
	if img.Error != "" || reg.requests.Load() == before {
		t.Fatalf("after the registry recovered: error %q, requests %d -> %d", img.Error, before, reg.requests.Load())
	}
}

// TestCallerDeadline: a caller whose deadline passes gets an error, never
// an unsigned answer.
func TestCallerDeadline(t *testing.T) {
	reg := newLoopRegistry(t, true)
	digest := reg.pushRandom(t, "app", "v1")
	reg.gate = make(chan struct{})
	defer close(reg.gate)
	c := NewCache(CacheOptions{SignedTTL: time.Minute, UnsignedTTL: time.Minute, Timeout: 10 * time.Second}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	img := c.Check(ctx, reg.client(), reg.host()+"/app", digest, []*Trust{testTrust(t, newKeyPEM(t))}, Options{})
	if img.Error == "" {
		t.Fatalf("want an error, got %+v", img)
	}
}
