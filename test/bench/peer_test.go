package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
	"github.com/tollgate-dev/tollgate/test/bench/echo"
	"github.com/tollgate-dev/tollgate/test/bench/workload"
)

// peerConfig is the config shared/peer-bench/targets/tollgate.sh gives
// `tollgate serve`, so profiles of this benchmark are profiles of that run.
const peerConfig = `apiVersion: tollgate.dev/v1alpha1
kind: Config
quota: {mode: deny, warnThreshold: 90, ledgerTTL: 1ms}
policies:
  failureMode: closed
  settings:
    allowed-registries: {action: deny, parameters: {registries: ["docker.io/library", "ghcr.io/acme/*"]}}
    disallowed-tags: {action: deny, parameters: {tags: [latest]}}
    require-digest: {action: deny}
`

// peerFacts are the peer bench's namespaces: web with defaults and a pod
// quota, payments with bounds and a compute quota, sandbox with a pod quota.
type peerFacts struct{}

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

var peerLimits = map[string][]corev1.LimitRange{
	"web": {{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "web"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Default: rl("cpu", "500m", "memory", "256Mi"), DefaultRequest: rl("cpu", "100m", "memory", "128Mi")}}}}},
	"payments": {{ObjectMeta: metav1.ObjectMeta{Name: "bounds", Namespace: "payments"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: rl("cpu", "4", "memory", "8Gi"), MaxLimitRequestRatio: rl("cpu", "10")}}}}},
}

var peerQuotas = map[string][]corev1.ResourceQuota{
	"web":      {{ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: "web"}, Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "1000")}}},
	"sandbox":  {{ObjectMeta: metav1.ObjectMeta{Name: "pods", Namespace: "sandbox"}, Spec: corev1.ResourceQuotaSpec{Hard: rl("pods", "1000")}}},
	"payments": {{ObjectMeta: metav1.ObjectMeta{Name: "compute", Namespace: "payments"}, Spec: corev1.ResourceQuotaSpec{Hard: rl("requests.cpu", "100", "requests.memory", "100Gi", "limits.cpu", "200", "limits.memory", "200Gi", "pods", "1000")}}},
}

func (peerFacts) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}}}, nil
}
func (peerFacts) LimitRanges(_ context.Context, ns string) ([]corev1.LimitRange, error) {
	return peerLimits[ns], nil
}
func (peerFacts) Quotas(_ context.Context, ns string) ([]corev1.ResourceQuota, error) {
	return peerQuotas[ns], nil
}

func peerValidator(tb testing.TB) http.Handler {
	tb.Helper()
	cfg, err := config.Parse([]byte(peerConfig))
	if err != nil {
		tb.Fatal(err)
	}
	engine, err := policy.New(context.Background(), policies.FS)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	engine.Observer = m.ObservePolicy
	if err := engine.Validate(cfg.Policies); err != nil {
		tb.Fatal(err)
	}
	p := pipeline.New(peerFacts{}, &pipeline.State{Config: cfg, Policies: engine},
		pipeline.Options{OwnNamespace: "tollgate-system", Ledger: quota.NewLedger(time.Now)})
	return tgwebhook.HTTP{Handler: &tgwebhook.PodValidator{Pipeline: p, Recorder: m}}
}

// BenchmarkPeerBodies serves the peer benchmark's three reviews
// (testdata/peer, copied from shared/peer-bench/reviews) through the
// validating handler and the echo floor, for profiling the path the peer
// bench measures end to end.
func BenchmarkPeerBodies(b *testing.B) {
	h := peerValidator(b)
	floor := echo.Webhook()
	for _, name := range []string{"1-nginx", "2-acme-multi", "3-bad-latest"} {
		body, err := os.ReadFile(filepath.Join("testdata", "peer", name+".json"))
		if err != nil {
			b.Fatal(err)
		}
		want := name != "3-bad-latest"
		r := workloadRequest(body, want)
		b.Run(fmt.Sprintf("echo/%s", name), func(b *testing.B) { check(b, floor, r, true); loop(b, floor, body) })
		b.Run(fmt.Sprintf("tollgate/%s", name), func(b *testing.B) { check(b, h, r, want); loop(b, h, body) })
	}
}

func workloadRequest(body []byte, want bool) workload.Request {
	return workload.Request{Kind: "peer", Path: "/validate-v1-pod", Body: body, WantAllowed: want}
}
