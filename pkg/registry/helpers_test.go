package registry

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// fakeRegistry is go-containerregistry's in-process registry behind TLS,
// with optional basic auth, a request log and injectable faults.
type fakeRegistry struct {
	srv   *httptest.Server
	host  string
	caPEM string

	mu       sync.Mutex
	requests []string // "METHOD path"
	status   int      // when not 0, every /v2/ request but the ping gets this status
	delay    time.Duration
	user     string // basic auth required when not ""
	pass     string
}

func newFakeRegistry(t *testing.T, tls bool) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{}
	inner := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(true))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		status, delay, user, pass := f.status, f.delay, f.user, f.pass
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if u, p, ok := r.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if status != 0 && r.URL.Path != "/v2/" {
			w.WriteHeader(status)
			return
		}
		inner.ServeHTTP(w, r)
	})
	if tls {
		f.srv = httptest.NewTLSServer(h)
		f.caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}))
	} else {
		f.srv = httptest.NewServer(h)
	}
	t.Cleanup(f.srv.Close)
	f.host = strings.TrimPrefix(strings.TrimPrefix(f.srv.URL, "https://"), "http://")
	return f
}

// push writes a random image under repo:tag and returns its digest.
func (f *fakeRegistry) push(t *testing.T, repo, tag string) string {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(f.host+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithTransport(f.srv.Client().Transport)}
	if f.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: f.user, Password: f.pass}))
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	f.reset()
	return d.String()
}

func (f *fakeRegistry) reset() {
	f.mu.Lock()
	f.requests = nil
	f.mu.Unlock()
}

func (f *fakeRegistry) set(status int, delay time.Duration) {
	f.mu.Lock()
	f.status, f.delay = status, delay
	f.mu.Unlock()
}

// count returns how many requests had the method and a path ending in suffix.
func (f *fakeRegistry) count(method, suffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, method+" ") && strings.HasSuffix(r, suffix) {
			n++
		}
	}
	return n
}

func (f *fakeRegistry) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// dialCounter counts every dial the client makes, to any address.
type dialCounter struct{ n atomic.Int64 }

func (d *dialCounter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

// newClient makes a client whose one rule selects f with its CA.
func newClient(t *testing.T, f *fakeRegistry, mutate func(*Access), opts Options) *Client {
	t.Helper()
	a := Access{Pattern: f.host, CA: f.caPEM, Timeout: metav1.Duration{Duration: 2 * time.Second}}
	if mutate != nil {
		mutate(&a)
	}
	c, err := New(Settings{Access: []Access{a}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustParse(t *testing.T, s string) imageref.Ref {
	t.Helper()
	r, err := imageref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
