package imagepin

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// privateRegistry is an in-process registry over TLS that wants user:pw.
func privateRegistry(t *testing.T) (host, caPEM string, requests *atomic.Int64) {
	t.Helper()
	inner := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	requests = &atomic.Int64{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host = strings.TrimPrefix(srv.URL, "https://")
	caPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	return host, caPEM, requests
}

func push(t *testing.T, ref string, tr http.RoundTripper) string {
	t.Helper()
	img, _ := random.Image(32, 1)
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: "user", Password: "pw"})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

// countingResolver counts lookups the pinner asks for.
type countingResolver struct {
	registry.Resolver
	n atomic.Int64
}

func (c *countingResolver) Resolve(ctx context.Context, ref imageref.Ref, keys registry.Keychain) (string, error) {
	c.n.Add(1)
	return c.Resolver.Resolve(ctx, ref, keys)
}

type nsFacts struct{}

func (nsFacts) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, nil
}

func TestPinUsesThePodsPullSecretAndLeavesOtherRegistriesAlone(t *testing.T) {
	host, ca, requests := privateRegistry(t)
	tr := &http.Transport{TLSClientConfig: httptestTLS(t, ca)}
	want := push(t, host+"/private/app:1.0", tr)

	client, err := registry.New(registry.Settings{Access: []registry.Access{{Pattern: host, CA: ca}}}, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	settings := pinning.Settings{Rules: []pinning.Rule{{Images: []string{host}}}}
	policy, err := settings.Compile()
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("user:pw"))
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + host + `":{"auth":"` + auth + `"}}}`)}}
	var gets atomic.Int64
	reader := fake.NewClientBuilder().WithObjects(secret).WithInterceptorFuncs(interceptGets(&gets)).Build()
	resolver := &countingResolver{Resolver: client}
	p := &Pinner{Policy: policy, Resolver: resolver, Namespaces: nsFacts{}, Secrets: reader}
	requests.Store(0)

	hub := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "docker.io/library/nginx:1.27"}}}}
	out, err := p.Pin(context.Background(), "ns", hub)
	if err != nil || len(out.Pinned)+len(out.Warnings)+len(out.Denials) != 0 {
		t.Fatalf("docker.io Pod: %+v, %v", out, err)
	}
	if resolver.n.Load() != 0 || gets.Load() != 0 || requests.Load() != 0 {
		t.Fatalf("docker.io Pod caused %d lookups, %d API reads, %d registry requests; want none", resolver.n.Load(), gets.Load(), requests.Load())
	}

	withSecret := &corev1.Pod{Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		Containers: []corev1.Container{{Name: "c", Image: host + "/private/app:1.0"}}}}
	if out, err = p.Pin(context.Background(), "ns", withSecret); err != nil || len(out.Pinned) != 1 {
		t.Fatalf("with pull secret: %+v, %v", out, err)
	}
	if got := withSecret.Spec.Containers[0].Image; got != host+"/private/app:1.0@"+want {
		t.Errorf("image %q", got)
	}

	without := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: host + "/private/app:1.0"}}}}
	if out, err = p.Pin(context.Background(), "ns", without); err != nil || len(out.Warnings) != 1 || len(out.Pinned) != 0 {
		t.Fatalf("without pull secret: %+v, %v", out, err)
	}
	if !strings.Contains(out.Warnings[0], "unauthorized") || without.Spec.Containers[0].Image != host+"/private/app:1.0" {
		t.Errorf("warning %q, image %q", out.Warnings[0], without.Spec.Containers[0].Image)
	}
}

func interceptGets(n *atomic.Int64) interceptor.Funcs {
	return interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		n.Add(1)
		return c.Get(ctx, key, obj, opts...)
	}}
}
