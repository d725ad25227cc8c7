package registry

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestResolveReturnsTheDigestWithOneManifestHead(t *testing.T) {
	f := newFakeRegistry(t, true)
	want := f.push(t, "team/app", "1.0")
	c := newClient(t, f, nil, Options{})
	got, err := c.Resolve(context.Background(), mustParse(t, f.host+"/team/app:1.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("digest %s, want %s", got, want)
	}
	if n := f.count("HEAD", "/manifests/1.0"); n != 1 {
		t.Errorf("%d manifest HEADs, want 1", n)
	}
	if n := f.total(); n != 2 {
		t.Errorf("%d requests (%v), want the auth ping and one HEAD", n, f.requests)
	}
	// A second repository-level lookup reuses the transport: HEAD only.
	f.push(t, "team/app", "2.0")
	if _, err := c.Resolve(context.Background(), mustParse(t, f.host+"/team/app:2.0"), nil); err != nil {
		t.Fatal(err)
	}
	if n := f.total(); n != 1 {
		t.Errorf("second tag took %d requests (%v), want 1 HEAD", n, f.requests)
	}
}

func TestUnselectedRegistryIsNeverDialed(t *testing.T) {
	f := newFakeRegistry(t, true)
	var dials dialCounter
	c := newClient(t, f, nil, Options{DialContext: dials.dial})
	for _, image := range []string{"docker.io/library/nginx:1.27", "nginx", "ghcr.io/acme/app:v1", "127.0.0.2" + f.host[len("127.0.0.1"):] + "/x:1", "localhost" + f.host[len("127.0.0.1"):] + "/x:1"} {
		_, err := c.Resolve(context.Background(), mustParse(t, image), nil)
		if KindOf(err) != KindNotSelected {
			t.Errorf("%s: error %v, want not_selected", image, err)
		}
		if c.Selected(mustParse(t, image)) {
			t.Errorf("%s: Selected is true", image)
		}
	}
	if n := dials.n.Load(); n != 0 {
		t.Errorf("%d dials, want none", n)
	}
	if f.total() != 0 {
		t.Errorf("registry saw %v", f.requests)
	}
}

func TestPlainHTTPIsRefusedUnlessInsecure(t *testing.T) {
	f := newFakeRegistry(t, false)
	want := f.push(t, "app", "1")
	c := newClient(t, f, nil, Options{})
	_, err := c.Resolve(context.Background(), mustParse(t, f.host+"/app:1"), nil)
	if KindOf(err) != KindInsecure {
		t.Fatalf("error %v (kind %q), want insecure", err, KindOf(err))
	}
	if n := f.count("HEAD", "/manifests/1"); n != 0 {
		t.Errorf("%d HEADs reached the plain HTTP registry", n)
	}
	c = newClient(t, f, func(a *Access) { a.Insecure = true; a.CA = "" }, Options{})
	got, err := c.Resolve(context.Background(), mustParse(t, f.host+"/app:1"), nil)
	if err != nil || got != want {
		t.Fatalf("insecure rule: %s, %v; want %s", got, err, want)
	}
}

func TestUntrustedCertificateIsATLSError(t *testing.T) {
	f := newFakeRegistry(t, true)
	f.push(t, "app", "1")
	c := newClient(t, f, func(a *Access) { a.CA = "" }, Options{})
	_, err := c.Resolve(context.Background(), mustParse(t, f.host+"/app:1"), nil)
	if KindOf(err) != KindTLS {
		t.Fatalf("error %v (kind %q), want tls", err, KindOf(err))
	}
}

func TestTransientErrorsAreReportedAndNeverCached(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		delay  time.Duration
		kind   Kind
	}{
		"429":     {status: http.StatusTooManyRequests, kind: KindThrottled},
		"503":     {status: http.StatusServiceUnavailable, kind: KindUnavailable},
		"timeout": {delay: time.Minute, kind: KindTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeRegistry(t, true)
			want := f.push(t, "app", "1")
			c := newClient(t, f, func(a *Access) { a.Timeout.Duration = 300 * time.Millisecond }, Options{TagTTL: time.Hour})
			ref := mustParse(t, f.host+"/app:1")
			if _, err := c.Resolve(context.Background(), ref, nil); err != nil {
				t.Fatal(err) // warm the transport, so the fault hits the HEAD
			}
			c.tags = newTagCache(time.Hour, time.Now)
			f.set(tc.status, tc.delay)
			_, err := c.Resolve(context.Background(), ref, nil)
			if KindOf(err) != tc.kind || !IsTransient(err) {
				t.Fatalf("error %v (kind %q), want transient %s", err, KindOf(err), tc.kind)
			}
			f.set(0, 0)
			got, err := c.Resolve(context.Background(), ref, nil)
			if err != nil || got != want {
				t.Fatalf("after recovery: %s, %v; want %s (the failure must not be cached)", got, err, want)
			}
		})
	}
}

func TestNotFoundIsDefinitive(t *testing.T) {
	f := newFakeRegistry(t, true)
	f.push(t, "app", "1")
	c := newClient(t, f, nil, Options{})
	_, err := c.Resolve(context.Background(), mustParse(t, f.host+"/app:nope"), nil)
	if KindOf(err) != KindNotFound || IsTransient(err) {
		t.Fatalf("error %v (kind %q), want not_found", err, KindOf(err))
	}
}

func TestTagCacheLastsSecondsAndIsKeyedByCredentials(t *testing.T) {
	f := newFakeRegistry(t, true)
	f.push(t, "app", "1")
	clock := &fakeClock{now: time.Unix(1000, 0)}
	c := newClient(t, f, nil, Options{TagTTL: 5 * time.Second, Now: clock.Now})
	ref := mustParse(t, f.host+"/app:1")
	resolve := func(keys Keychain) {
		t.Helper()
		if _, err := c.Resolve(context.Background(), ref, keys); err != nil {
			t.Fatal(err)
		}
	}
	resolve(nil)
	resolve(nil)
	if n := f.count("HEAD", "/manifests/1"); n != 1 {
		t.Fatalf("%d HEADs within the TTL, want 1", n)
	}
	other := staticKeychain{authn.FromConfig(authn.AuthConfig{Username: "u", Password: "p"})}
	resolve(other)
	if n := f.count("HEAD", "/manifests/1"); n != 2 {
		t.Fatalf("other credentials shared the cache entry (%d HEADs)", n)
	}
	clock.Add(6 * time.Second)
	resolve(nil)
	if n := f.count("HEAD", "/manifests/1"); n != 3 {
		t.Fatalf("%d HEADs after the TTL, want 3", n)
	}
}

func TestConcurrentLookupsShareOneRequest(t *testing.T) {
	f := newFakeRegistry(t, true)
	want := f.push(t, "app", "1")
	c := newClient(t, f, nil, Options{})
	f.set(0, 200*time.Millisecond) // keep the first lookup in flight while the others arrive
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			got, err := c.Resolve(context.Background(), mustParse(t, f.host+"/app:1"), nil)
			if err == nil && got != want {
				err = &Error{Kind: KindInvalid, Ref: got}
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count("HEAD", "/manifests/1"); n != 1 {
		t.Errorf("100 concurrent lookups made %d HEADs, want 1", n)
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }
