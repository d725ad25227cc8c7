//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A review for a Pod that never comes to exist (sent with the API server's
// certificate, as when another webhook rejects a Pod after Tollgate, or the
// API server retries) leaves a charge in Tollgate's ledger. It no longer
// denies a real Pod that fits the quota's status.used: that Pod is admitted
// with a quota.pending-charges warning and the in-tree ResourceQuota, which
// admits it, decides.
func TestLedgerOnlyOverflowIsAWarning(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-ledger"
	namespace(t, env.api.Client, ns, nil, true)
	applyQuota(t, ns, "team-budget", `{requests.cpu: "2"}`)
	big := simplePod("big", pause)
	big.Spec.Containers[0].Resources.Requests = rl("cpu", "3")
	eventually(t, "Tollgate sees the quota (a dry run, which charges nothing)", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, big)
		return denied(err, `exceeded quota "team-budget"`), errString(err)
	})

	resp, err := postReview(env.tg, podReview(t, ns, "ghost", "ghost-uid", "ghost-req", "1500m"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Allowed {
		t.Fatalf("the 1.5 CPU review should fit 0 of 2: %v", resp.Result)
	}

	fits := `apiVersion: v1
kind: Pod
metadata: {name: fits}
spec:
  containers:
    - name: work
      image: ` + pause + `
      resources:
        requests: {cpu: "1"}
`
	r := kubectl(ctx, fits, "apply", "-n", ns, "-f", "-")
	if r.Err != nil {
		t.Fatalf("a Pod that fits status.used was denied because of a ledger charge:\n%s", r.Output())
	}
	for _, want := range []string{"Warning:", "quota.pending-charges", `quota "team-budget"`, "in-tree ResourceQuota decides"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the admission lacks %q:\n%s", want, r.Output())
		}
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Output()))
	if _, err := env.api.Client.CoreV1().Pods(ns).Get(ctx, "fits", metav1.GetOptions{}); err != nil {
		t.Errorf("the Pod was not stored: %v", err)
	}
}
