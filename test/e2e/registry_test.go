//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/registry"
	"github.com/tollgate-dev/tollgate/test/harness"
)

type basicKeychain struct{ user, pass string }

func (k basicKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.pass}, nil
}

// TestRealRegistryResolveAndFaults runs the registry client against the real
// Distribution registry (TLS from a test CA, htpasswd): a tag resolves to the
// pushed digest with credentials, is unauthorized without, and 429, 503,
// slow and down are each reported as transient within the rule's timeout.
func TestRealRegistryResolveAndFaults(t *testing.T) {
	ctx := context.Background()
	ca, err := harness.NewCA("registry test CA")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := harness.StartRegistry(ctx, t.TempDir(), ca)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Stop()
	want, err := reg.Push(ctx, "team/app", "1.0", "hello")
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.New(registry.Settings{Access: []registry.Access{{Pattern: reg.Host, CA: string(reg.CAPEM),
		Timeout: metav1.Duration{Duration: time.Second}}}}, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := imageref.Parse(reg.Host + "/team/app:1.0")
	keys := basicKeychain{reg.User, reg.Password}
	reg.ResetRequests()
	got, err := c.Resolve(ctx, ref, keys)
	if err != nil || got != want {
		t.Fatalf("resolve: %s, %v; want %s", got, err, want)
	}
	if n := reg.Requests(http.MethodHead, "/manifests/1.0"); n != 1 {
		t.Errorf("%d manifest HEADs, want 1", n)
	}
	if _, err := c.Resolve(ctx, ref, nil); registry.KindOf(err) != registry.KindUnauthorized {
		t.Errorf("without credentials: %v, want unauthorized", err)
	}
	for name, f := range map[string]harness.Fault{
		"429": {Status: http.StatusTooManyRequests}, "503": {Status: http.StatusServiceUnavailable},
		"slow": {Delay: 10 * time.Second}, "down": {Down: true},
	} {
		if err := reg.SetFault(f); err != nil {
			t.Fatal(err)
		}
		fresh, _ := registry.New(registry.Settings{Access: []registry.Access{{Pattern: reg.Host, CA: string(reg.CAPEM),
			Timeout: metav1.Duration{Duration: time.Second}}}}, registry.Options{})
		_, err := fresh.Resolve(ctx, ref, keys)
		if !registry.IsTransient(err) {
			t.Errorf("%s: %v (kind %q), want a transient error", name, err, registry.KindOf(err))
		}
		if err := reg.SetFault(harness.Fault{}); err != nil {
			t.Fatal(err)
		}
	}
}
