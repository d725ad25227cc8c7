package sigverify

import (
	"encoding/pem"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// remoteChecker is a Checker over pkg/registry's client for the loop
// registry, trusting key for its images.
func remoteChecker(t testing.TB, l *loopRegistry, key string) *Checker {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.srv.Certificate().Raw})
	c, err := registry.New(registry.Settings{Access: []registry.Access{{Pattern: l.host(), CA: string(ca), Credentials: registry.CredentialsAnonymous}}}, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Settings{Trust: []TrustSpec{{Name: "release", Registries: []string{l.host()}, PublicKey: key}}}.Compile("")
	if err != nil {
		t.Fatal(err)
	}
	remote := &Remote{Client: c}
	return &Checker{Config: cfg, Verifier: &Verifier{Cache: NewCache(cfg.Cache, nil)}, Registries: remote.Registries}
}

func pod() *corev1.Pod { return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}} }

// TestRemoteThrottledIsNeverUnsigned: through the server's registry client,
// a registry answering 429 gives an error result, for a tag and a digest.
func TestRemoteThrottledIsNeverUnsigned(t *testing.T) {
	l := newLoopRegistry(t, false)
	digest := l.pushRandom(t, "app", "v1")
	ch := remoteChecker(t, l, newKeyPEM(t))
	unsigned := ch.Check(t.Context(), pod(), []string{l.host() + "/app:v1"})[l.host()+"/app:v1"]
	if unsigned.Error != "" || len(unsigned.SignedBy) != 0 || unsigned.Digest != digest {
		t.Fatalf("before the fault: %+v, want a definitive unsigned answer for %s", unsigned, digest)
	}
	l.throttle.Store(true)
	for _, image := range []string{l.host() + "/app:v1", l.host() + "/app@" + l.pushRandom(t, "app", "v2")} {
		img, ok := ch.Check(t.Context(), pod(), []string{image})[image]
		if !ok || img.Error == "" || !strings.Contains(img.Error, "throttled") {
			t.Errorf("%s under 429: %+v (present %v), want an error naming throttled", image, img, ok)
		}
	}
}

// TestRemoteThrottledFirstContact: 429 from the first request (the auth
// ping) is registry trouble too.
func TestRemoteThrottledFirstContact(t *testing.T) {
	l := newLoopRegistry(t, false)
	l.pushRandom(t, "app", "v1")
	ch := remoteChecker(t, l, newKeyPEM(t))
	l.throttle.Store(true)
	image := l.host() + "/app:v1"
	img, ok := ch.Check(t.Context(), pod(), []string{image})[image]
	if !ok || !strings.Contains(img.Error, "throttled") {
		t.Errorf("%s under 429: %+v (present %v), want an error naming throttled", image, img, ok)
	}
}
