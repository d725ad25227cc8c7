package sigbench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/registry"
	"github.com/tollgate-dev/tollgate/pkg/sigverify"
	"github.com/tollgate-dev/tollgate/policies"
)

// verifyingConfig requires the loop key's signature on every image of the
// loop registry; plain has the same shipped policies and no verification.
func verifyingConfig(tb testing.TB, l *loop) string {
	return fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: Config
registries:
  access:
  - pattern: %[1]q
    credentials: anonymous
    ca: |
      %[2]s
verification:
  trust:
  - name: release
    registries: [%[1]q]
    publicKey: |
      %[3]s
policies:
  settings:
    require-signature:
      parameters:
        rules: [{registries: [%[1]q], trust: [release]}]
`, l.host(), indentPEM(l.caPEM()), indentPEM(l.pubPEM(tb)))
}

// indentPEM indents a PEM block for a YAML literal in verifyingConfig.
func indentPEM(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") }

const plain = "apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"

// scene is a pipeline over a namespace with no LimitRange or quota.
type scene struct {
	p   *pipeline.Pipeline
	obs *counter
	cfg *config.Config
}

func newScene(tb testing.TB, cfgYAML string) *scene {
	tb.Helper()
	ctx := context.Background()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		tb.Fatal(err)
	}
	engine, err := policy.New(ctx, policies.FS)
	if err != nil {
		tb.Fatal(err)
	}
	if err := engine.Validate(cfg.Policies); err != nil {
		tb.Fatal(err)
	}
	s := &scene{obs: &counter{}, cfg: cfg}
	st := &pipeline.State{Config: cfg, Policies: engine}
	if vc := cfg.VerificationConfig(); len(vc.Trusts) > 0 {
		c, err := registry.New(cfg.Registries, registry.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		remote := &sigverify.Remote{Client: c}
		st.Verifier = &sigverify.Checker{Config: vc, Verifier: &sigverify.Verifier{Cache: sigverify.NewCache(vc.Cache, s.obs)}, Registries: remote.Registries}
	}
	facts := cluster.NewStatic()
	if err := facts.AddYAML([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n"), "bench"); err != nil {
		tb.Fatal(err)
	}
	s.p = pipeline.New(facts, st, pipeline.Options{})
	return s
}

// fresh empties the verification cache (a cold admission).
func (s *scene) fresh() {
	if c, ok := s.p.State().Verifier.(*sigverify.Checker); ok {
		c.Verifier = &sigverify.Verifier{Cache: sigverify.NewCache(s.cfg.VerificationConfig().Cache, s.obs)}
	}
}

// validate runs the validating pipeline on a Pod naming images and fails
// the benchmark unless it is allowed.
func (s *scene) validate(tb testing.TB, images []string) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "team-a"}}
	for i, im := range images {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: im, ImagePullPolicy: corev1.PullIfNotPresent})
	}
	req := pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "team-a", Name: "web"}, UID: "bench", Pod: pod}
	v, err := s.p.Validate(context.Background(), req)
	if err != nil || !v.Allowed() {
		tb.Fatalf("validate: %v %+v", err, v.Reasons)
	}
}

// images pushes n signed images; byDigest names them as pinning leaves them.
func images(tb testing.TB, l *loop, n int, byDigest bool) []string {
	var out []string
	for i := range n {
		tag := fmt.Sprintf("v%d", i)
		d := l.pushSigned(tb, fmt.Sprintf("app%d", i), tag)
		ref := fmt.Sprintf("%s/app%d:%s", l.host(), i, tag)
		if byDigest {
			ref += "@" + d
		}
		out = append(out, ref)
	}
	return out
}

func timed(b *testing.B, setupEach func(), run func()) {
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		if setupEach != nil {
			b.StopTimer()
			setupEach()
			b.StartTimer()
		}
		start := time.Now()
		run()
		ds = append(ds, time.Since(start))
	}
	percentiles(b, ds)
}

// BenchmarkWarmPod10 is the validating pipeline for a Pod with 10 images:
// without verification (baseline), then with a warm verification cache
// for images pinned by digest (what the validating webhook sees after
// pinning) and for images named by tag (one manifest HEAD per image per
// admission: a tag may move, so it is never cached for verification).
func BenchmarkWarmPod10(b *testing.B) {
	l := newLoop(b, false)
	byDigest, byTag := images(b, l, 10, true), images(b, l, 10, false)
	base := newScene(b, plain)
	b.Run("baseline", func(b *testing.B) { timed(b, nil, func() { base.validate(b, byDigest) }) })
	s := newScene(b, verifyingConfig(b, l))
	s.validate(b, byDigest)
	for name, imgs := range map[string][]string{"verified-digest": byDigest, "verified-tag": byTag} {
		b.Run(name, func(b *testing.B) {
			before := l.requests.Load()
			timed(b, nil, func() { s.validate(b, imgs) })
			b.ReportMetric(float64(l.requests.Load()-before)/float64(b.N), "registry-req/op")
		})
	}
}

// BenchmarkCold is key-based verification with an empty cache: one image,
// and a Pod of 10 (verified concurrently), by digest. Connections and
// auth to the registry are warm, as in a running server.
func BenchmarkCold(b *testing.B) {
	l := newLoop(b, false)
	imgs := images(b, l, 10, true)
	s := newScene(b, verifyingConfig(b, l))
	s.validate(b, imgs)
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			before := l.requests.Load()
			timed(b, s.fresh, func() { s.validate(b, imgs[:n]) })
			b.ReportMetric(float64(l.requests.Load()-before)/float64(b.N)/float64(n), "registry-req/image")
		})
	}
}

// counter counts verifications (sigverify.Observer).
type counter struct {
	mu       sync.Mutex
	verified int
}

func (c *counter) CacheLookup(string) {}
func (c *counter) Verified(string, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verified++
}
func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verified
}
