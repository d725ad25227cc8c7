package imagepin

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
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

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// privateRegistry is an in-process registry over TLS that wants user:pw.
func privateRegistry(t testing.TB) (host, caPEM string, requests *atomic.Int64) {
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

func push(t testing.TB, ref string, tr http.RoundTripper) string {
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
	*registry.Client
	n atomic.Int64
}

func (c *countingResolver) Resolve(ctx context.Context, ref imageref.Ref, keys registry.Keychain) (string, error) {
	c.n.Add(1)
	return c.Client.Resolve(ctx, ref, keys)
}

// pinPipeline is a pipeline pinning host's images in namespace "ns", with
// lookups through the real registry client and a fake API reader holding
// one pull secret; it counts lookups and API reads.
func pinPipeline(t testing.TB, host, ca, credentials string, secret *corev1.Secret) (*pipeline.Pipeline, *countingResolver, *atomic.Int64) {
	t.Helper()
	return pinPipelineFor(t, host, ca, credentials, host, secret)
}

// pinPipelineFor is pinPipeline with a pinning rule for the pattern pinned.
func pinPipelineFor(t testing.TB, host, ca, credentials, pinned string, secret *corev1.Secret) (*pipeline.Pipeline, *countingResolver, *atomic.Int64) {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: Config
registries:
  access: [{pattern: %q, ca: %q, credentials: %s}]
pinning:
  rules: [{images: [%q]}]
`, host, ca, credentials, pinned)))
	if err != nil {
		t.Fatal(err)
	}
	built, err := Build(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resolver := &countingResolver{Client: built.Resolver.(*registry.Client)}
	gets := &atomic.Int64{}
	reader := fake.NewClientBuilder().WithObjects(secret).WithInterceptorFuncs(interceptGets(gets)).Build()
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	facts := cluster.NewStatic()
	facts.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	st := &pipeline.State{Config: cfg, Policies: engine, Lookups: &Lookups{Resolver: resolver, Secrets: reader}}
	return pipeline.New(facts, st, pipeline.Options{}), resolver, gets
}

// pullSecret is the Secret "pull" in "ns" with user:pw for host.
func pullSecret(host string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte("user:pw"))
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + host + `":{"auth":"` + auth + `"}}}`)}}
}

func create(pod *corev1.Pod) pipeline.Request {
	var req pipeline.Request
	req.Operation, req.Namespace, req.Pod = "CREATE", "ns", pod
	return req
}

func TestPinUsesThePodsPullSecretAndLeavesOtherRegistriesAlone(t *testing.T) {
	host, ca, requests := privateRegistry(t)
	tr := &http.Transport{TLSClientConfig: httptestTLS(t, ca)}
	want := push(t, host+"/private/app:1.0", tr)
	secret := pullSecret(host)
	p, resolver, gets := pinPipeline(t, host, ca, "pullSecrets", secret)
	requests.Store(0)
	ctx := context.Background()

	hub := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "docker.io/library/nginx:1.27"}}}}
	m, err := p.Mutate(ctx, create(hub), hub)
	if err != nil || m.Changed || len(m.Verdict.Warnings)+len(m.Verdict.Reasons) != 0 {
		t.Fatalf("docker.io Pod: %+v, %v", m, err)
	}
	if resolver.n.Load() != 0 || gets.Load() != 0 || requests.Load() != 0 {
		t.Fatalf("docker.io Pod caused %d lookups, %d API reads, %d registry requests; want none", resolver.n.Load(), gets.Load(), requests.Load())
	}

	withSecret := &corev1.Pod{Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		Containers: []corev1.Container{{Name: "c", Image: host + "/private/app:1.0"}}}}
	if m, err = p.Mutate(ctx, create(withSecret), withSecret); err != nil || len(m.Pinned) != 1 || !m.Changed {
		t.Fatalf("with pull secret: %+v, %v", m, err)
	}
	if got := withSecret.Spec.Containers[0].Image; got != host+"/private/app:1.0@"+want {
		t.Errorf("image %q", got)
	}
	wantNote := "image " + host + "/private/app:1.0 pinned to " + want + " for container c"
	if got := withSecret.Annotations["tollgate.dev/defaulted"]; got != wantNote {
		t.Errorf("annotation %q, want %q", got, wantNote)
	}

	without := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: host + "/private/app:1.0"}}}}
	if m, err = p.Mutate(ctx, create(without), without); err != nil || len(m.Verdict.Warnings) != 1 || len(m.Pinned) != 0 || m.Changed {
		t.Fatalf("without pull secret: %+v, %v", m, err)
	}
	if w := m.Verdict.Warnings[0]; w.Code != "pinning.unpinned" || !strings.Contains(w.Message, "admitted unpinned") || !strings.Contains(w.Message, "unauthorized") ||
		without.Spec.Containers[0].Image != host+"/private/app:1.0" {
		t.Errorf("warning %q, image %q", m.Verdict.Warnings[0], without.Spec.Containers[0].Image)
	}
}

func TestAnonymousRuleReadsNoSecret(t *testing.T) {
	host, ca, _ := privateRegistry(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	p, resolver, gets := pinPipeline(t, host, ca, "anonymous", secret)
	pod := &corev1.Pod{Spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "pull"}},
		Containers: []corev1.Container{{Name: "c", Image: host + "/private/app:1.0"}}}}
	m, err := p.Mutate(context.Background(), create(pod), pod)
	if err != nil || len(m.Verdict.Warnings) != 1 || !strings.Contains(m.Verdict.Warnings[0].Message, "unauthorized") {
		t.Fatalf("mutation %+v, %v; want an anonymous lookup refused by the registry", m, err)
	}
	if gets.Load() != 0 || resolver.n.Load() != 1 {
		t.Errorf("%d API reads, %d lookups; want no secret or service account read and one lookup", gets.Load(), resolver.n.Load())
	}
}

func interceptGets(n *atomic.Int64) interceptor.Funcs {
	return interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		n.Add(1)
		return c.Get(ctx, key, obj, opts...)
	}}
}
