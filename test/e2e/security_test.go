//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// Only the exact value "true" opts a namespace out: "false" keeps every check.
func TestIgnoreLabelFalseKeepsEnforcement(t *testing.T) {
	ctx := testCtx(t)
	evil := simplePod("evil", "quay.io/evil/miner:1.0")
	namespace(t, env.api.Client, "e2e-ignore-false", map[string]string{"tollgate.dev/ignore": "false"}, true)
	namespace(t, env.api.Client, "e2e-ignore-true", map[string]string{"tollgate.dev/ignore": "true"}, true)
	eventually(t, "tollgate.dev/ignore=true opts out", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, "e2e-ignore-true", evil)
		return err == nil, errString(err)
	})
	_, err := dryRun(ctx, env.api.Client, "e2e-ignore-false", evil)
	if !denied(err, "quay.io/evil/miner") {
		t.Fatalf("a disallowed image in a namespace labelled tollgate.dev/ignore=false: got %v, want a denial", err)
	}
	t.Logf("tollgate.dev/ignore=false, user sees: %v", err)
}

// The chart's ValidatingAdmissionPolicy: a user who may patch and create
// namespaces, outside namespaceLabels.allowedGroups, cannot set, change or
// remove tollgate.dev/ labels; a member of an allowed group can.
func TestNamespaceLabelsGuarded(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-guarded"
	namespace(t, env.api.Client, ns, map[string]string{"tollgate.dev/audit": "on"}, false)
	rbac := `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-namespace-labeller}
rules:
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get, list, create, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-namespace-labeller}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-namespace-labeller}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: e2e-tenants}
`
	if r := kubectl(ctx, rbac, "apply", "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	t.Cleanup(func() { kubectl(context.Background(), rbac, "delete", "-f", "-", "--ignore-not-found") })
	tenant := []string{"--as=alice", "--as-group=e2e-tenants"}
	as := func(who []string, args ...string) harness.Result { return kubectl(ctx, "", append(who, args...)...) }

	// The policy reaches the API server through an informer; a server-side dry run shows when.
	eventually(t, "the policy refuses alice's opt-out", func(ctx context.Context) (bool, string) {
		r := as(tenant, "label", "namespace", ns, "tollgate.dev/ignore=true", "--dry-run=server")
		return r.Err != nil && strings.Contains(r.Stderr, "ValidatingAdmissionPolicy"), r.Output()
	})
	if r := as(tenant, "label", "namespace", ns, "team=payments"); r.Err != nil {
		t.Fatalf("alice may label namespaces (RBAC), other labels must pass: %v", r.Output())
	}
	for what, args := range map[string][]string{
		"set tollgate.dev/ignore=true": {"label", "namespace", ns, "tollgate.dev/ignore=true"},
		"change tollgate.dev/audit":    {"label", "namespace", ns, "--overwrite", "tollgate.dev/audit=off"},
		"remove tollgate.dev/audit":    {"label", "namespace", ns, "tollgate.dev/audit-"},
	} {
		r := as(tenant, args...)
		if r.Err == nil || !strings.Contains(r.Stderr, "only members of system:masters") {
			t.Errorf("alice could %s (or was refused for another reason): %s", what, r.Output())
		}
		t.Logf("alice tries to %s: %s", what, strings.TrimSpace(r.Stderr))
	}
	created := `apiVersion: v1
kind: Namespace
metadata: {name: e2e-guarded-new, labels: {tollgate.dev/ignore: "true"}}
`
	if r := kubectl(ctx, created, append(tenant, "create", "-f", "-")...); r.Err == nil || !strings.Contains(r.Stderr, "only members of system:masters") {
		kubectl(context.Background(), "", "delete", "namespace", "e2e-guarded-new", "--ignore-not-found")
		t.Errorf("alice created a namespace already opted out: %s", r.Output())
	}
	got, err := env.api.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels["tollgate.dev/ignore"] != "" || got.Labels["tollgate.dev/audit"] != "on" {
		t.Errorf("labels changed behind the refusals: %v", got.Labels)
	}
	admin := []string{"--as=bob", "--as-group=system:masters"}
	if r := as(admin, "label", "namespace", ns, "tollgate.dev/ignore=true"); r.Err != nil {
		t.Errorf("a member of system:masters could not opt the namespace out: %s", r.Output())
	}
}

// With mutual TLS on (the suite's Tollgate), a forged AdmissionReview sent
// straight to the webhook port without the API server's client certificate
// gets no answer, only a failed TLS handshake; with the certificate it is
// answered, and reviews from the API server keep working. A Tollgate with
// mutual TLS off answers, but withholds the quota's amounts.
func TestForgedReviewWithoutClientCertificate(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-forged"
	namespace(t, env.api.Client, ns, nil, true)
	applyQuota(t, ns, "team-budget", `{requests.cpu: "1"}`)
	review := forgedReview(t, ns)

	if resp, err := postReview(env.tg, review, false); err == nil {
		t.Fatalf("a review without a client certificate was answered: allowed=%v %v", resp.Allowed, resp.Result)
	} else {
		t.Logf("without a client certificate: %v", err)
	}
	eventually(t, "the API server's certificate gets the quota denial with its amounts", func(context.Context) (bool, string) {
		resp, err := postReview(env.tg, review, true)
		if err != nil {
			return false, err.Error()
		}
		return !resp.Allowed && resp.Result != nil && strings.Contains(resp.Result.Message, "requested 2, used 0 of 1"), fmt.Sprint(resp.Result)
	})
	big := simplePod("big", pause)
	big.Spec.Containers[0].Resources.Requests = rl("cpu", "2")
	eventually(t, "API server reviews keep working under mutual TLS", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, big)
		return denied(err, "team-budget", "requested 2"), errString(err)
	})

	open, err := harness.StartTollgate(ctx, harness.TollgateOptions{Name: "tollgate-no-mtls", Dir: t.TempDir(), Kubeconfig: env.api.Kubeconfig, ConfigFile: env.configPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(open.Stop)
	eventually(t, "without mutual TLS the quota denial withholds the amounts", func(context.Context) (bool, string) {
		resp, err := postReview(open, review, false)
		if err != nil {
			return false, err.Error()
		}
		msg := fmt.Sprint(resp.Result)
		return !resp.Allowed && strings.Contains(msg, "quota.exceeded") && strings.Contains(msg, "kubectl describe resourcequota -n "+ns) &&
			!strings.Contains(msg, "requested 2") && !strings.Contains(msg, "of 1"), msg
	})
}

// forgedReview is a Pod CREATE asking for 2 CPUs in ns, as anyone could write it.
func forgedReview(t *testing.T, ns string) []byte {
	t.Helper()
	return podReview(t, ns, "forged", "", "forged-1", "2")
}

// podReview is a Pod CREATE review for a Pod that requests cpu; podUID ""
// leaves metadata.uid out.
func podReview(t *testing.T, ns, name string, podUID, reqUID types.UID, cpu string) []byte {
	t.Helper()
	pod := simplePod(name, pause)
	pod.Namespace, pod.UID = ns, podUID
	pod.Spec.Containers[0].Resources.Requests = rl("cpu", cpu)
	pod.Spec.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: reqUID, Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Name:     name, Namespace: ns, Operation: admissionv1.Create,
			UserInfo: authnv1.UserInfo{Username: "mallory"},
			Object:   runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postReview POSTs a review to tg's Pod validating webhook, with the API
// server's client certificate or none.
func postReview(tg *harness.Tollgate, body []byte, withClientCert bool) (*admissionv1.AdmissionResponse, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(tg.CA.CertPEM)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withClientCert {
		pair, err := tls.LoadX509KeyPair(env.cp.WebhookClient.CertFile, env.cp.WebhookClient.KeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(tg.URL+"/validate-v1-pod", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(b, &out); err != nil || out.Response == nil {
		return nil, fmt.Errorf("HTTP %d, no AdmissionReview response (%v): %s", resp.StatusCode, err, b)
	}
	return out.Response, nil
}
