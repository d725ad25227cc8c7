//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestHugeQuantityAdmitted: a Pod with ephemeral-storage 5Ei (valid, over
// 2^62) is admitted through Tollgate, and a later metadata-only UPDATE (a
// finalizer added and removed, as a controller does) is too.
func TestHugeQuantityAdmitted(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-huge"
	namespace(t, env.api.Client, ns, nil, true)
	pod := `apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: ` + ns + `}
spec:
  containers:
  - name: app
    image: ` + pause + `
    resources: {limits: {ephemeral-storage: 5Ei}}
`
	if r := kubectl(ctx, pod, "create", "-f", "-"); r.Err != nil {
		t.Fatalf("5Ei refused: %s", r.Output())
	}
	for _, patch := range []string{`{"metadata":{"finalizers":["example.com/hold"]}}`, `{"metadata":{"finalizers":null}}`} {
		if r := kubectl(ctx, "", "patch", "pod", "huge", "-n", ns, "--type=merge", "-p", patch); r.Err != nil {
			t.Fatalf("metadata-only update %s refused: %s", patch, r.Output())
		}
	}
	r := kubectl(ctx, "", "get", "pod", "huge", "-n", ns, "-o", "jsonpath={.spec.containers[0].resources.requests.ephemeral-storage}")
	if r.Err != nil || strings.TrimSpace(r.Stdout) != "5Ei" {
		t.Errorf("stored request %q (%v), want 5Ei", r.Stdout, r.Err)
	}
}
