//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
)

// Quota as the user sees it in kubectl: a Pod that takes the namespace past
// the warn threshold is admitted with a warning naming the quota; one that
// would exceed it is denied by Tollgate with the numbers.
func TestQuotaWarningAndDenial(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-quota"
	namespace(t, env.api.Client, ns, nil, true)
	applyQuota(t, ns, "compute", `{requests.cpu: "1", requests.memory: 1Gi, pods: "10"}`)
	pod := func(name, cpu string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  containers:
    - name: work
      image: ` + pause + `
      resources:
        requests: {cpu: ` + cpu + `, memory: 64Mi}
`
	}
	// Tollgate learns the quota through its informer; a dry run shows when.
	eventually(t, "Tollgate warns near the quota", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, pod("near", "850m"), "apply", "-n", ns, "--dry-run=server", "-f", "-")
		return r.Err == nil && strings.Contains(r.Stderr, "Warning:"), r.Output()
	})
	r := kubectl(ctx, pod("near", "850m"), "apply", "-n", ns, "-f", "-")
	if r.Err != nil {
		t.Fatalf("850m of a 1 CPU quota should be admitted: %v", r.Err)
	}
	if !strings.Contains(r.Stderr, "Warning:") || !strings.Contains(r.Stderr, `"compute"`) || !strings.Contains(r.Stderr, "%") {
		t.Errorf("no near-limit warning naming quota compute:\n%s", r.Output())
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Output()))

	// Until Tollgate's informer sees the new status.used, the Pod is only
	// over with the ledger's pending charge: a warning, and the in-tree
	// plugin denies in its own words. A dry run (never charged) shows when.
	eventually(t, "Tollgate sees the 850m in status.used", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, pod("over", "300m"), "apply", "-n", ns, "--dry-run=server", "-f", "-")
		return r.Err != nil && strings.Contains(r.Stderr, `exceeded quota "compute"`), r.Output()
	})
	r = kubectl(ctx, pod("over", "300m"), "apply", "-n", ns, "-f", "-")
	if r.Err == nil {
		t.Fatalf("a Pod exceeding the quota was admitted:\n%s", r.Output())
	}
	for _, want := range []string{"denied the request", `exceeded quota "compute"`, "requests.cpu"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("denial lacks %q:\n%s", want, r.Stderr)
		}
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Stderr))
}
