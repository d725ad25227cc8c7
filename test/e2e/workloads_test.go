//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Deployment whose replicas cannot all fit in the namespace's quota is
// admitted, but `kubectl apply` shows a warning that says how many replicas
// will start, instead of a ReplicaSet that silently fails later
// (kubernetes#25146). Scaling it down again says nothing.
func TestWorkloadQuotaWarningOnApply(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-workloads"
	namespace(t, env.api.Client, ns, nil, true)
	quota := `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec:
  hard: {requests.cpu: "1"}
`
	if r := kubectl(ctx, quota, "apply", "-n", ns, "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	eventually(t, "quota status filled", func(ctx context.Context) (bool, string) {
		rq, err := env.api.Client.CoreV1().ResourceQuotas(ns).Get(ctx, "compute", metav1.GetOptions{})
		return err == nil && len(rq.Status.Used) > 0, errString(err)
	})
	deployment := func(replicas string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ` + pause + `
          resources:
            requests: {cpu: 400m}
`
	}
	want := []string{
		"Warning:",
		`deployment "web" needs requests.cpu 1.2 across 3 replicas (0.4 each); quota "compute" allows 1 more: 2 replicas fit, 1 will fail to start`,
	}
	// Tollgate learns the quota through its informer; a dry run shows when.
	eventually(t, "Tollgate warns about the Deployment", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, deployment("3"), "apply", "-n", ns, "--dry-run=server", "-f", "-")
		return r.Err == nil && strings.Contains(r.Stderr, "quota.exceeded"), r.Output()
	})
	r := kubectl(ctx, deployment("3"), "apply", "-n", ns, "-f", "-")
	if r.Err != nil {
		t.Fatalf("the Deployment should be admitted (warn mode): %v\n%s", r.Err, r.Output())
	}
	for _, w := range want {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("kubectl apply output lacks %q:\n%s", w, r.Output())
		}
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Output()))

	r = kubectl(ctx, deployment("1"), "apply", "-n", ns, "-f", "-")
	if r.Err != nil {
		t.Fatalf("scale down: %v\n%s", r.Err, r.Output())
	}
	if strings.Contains(r.Stderr, "Warning:") {
		t.Errorf("a scale-down warned:\n%s", r.Output())
	}
}
