//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// TestFailureMatrix: what each webhook does on the real API server when
// Tollgate errors (a replica with no loadable config answers every call
// with a malfunction) and when it is down, under both chart failure
// policies. Erroring is answered by Tollgate, so failurePolicy does not
// matter: the mutating and workload webhooks admit unchanged with a
// warning, the Pod validating webhook (failure mode closed) denies naming
// the fault. Down is the API server's failurePolicy: Fail refuses, Ignore
// admits.
func TestFailureMatrix(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	cfg, err := harness.WriteFile(dir, "config.yaml", badConfig)
	if err != nil {
		t.Fatal(err)
	}
	broken, err := harness.StartTollgate(ctx, harness.TollgateOptions{Name: "tollgate-broken", Dir: dir, Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile, Unready: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broken.Stop)
	ns := "e2e-matrix"
	// The shared release leaves this namespace alone; the broken one only sees it.
	namespace(t, env.api.Client, ns, map[string]string{"tollgate.dev/ignore": "true", "e2e.tollgate.dev/matrix": "yes"}, true)
	register := func(t *testing.T, policy string, hooks ...string) {
		t.Helper()
		registerOnly(ctx, t, "broken", broken, "e2e.tollgate.dev/matrix", policy, hooks...)
	}
	pod := func(name string) harness.Result {
		return kubectl(ctx, "", "run", name, "-n", ns, "--image="+pause, "--dry-run=server")
	}
	deploy := func(name string) harness.Result {
		return kubectl(ctx, "", "create", "deployment", name, "-n", ns, "--image="+pause, "--dry-run=server")
	}
	for _, policy := range []string{"Fail", "Ignore"} {
		t.Run("erroring/"+policy, func(t *testing.T) {
			register(t, policy, "mutating")
			eventually(t, "mutating: admitted unchanged with a warning", func(ctx context.Context) (bool, string) {
				r := pod("m")
				return r.Err == nil && strings.Contains(r.Stderr, "let it through unchanged"), r.Output()
			})
			register(t, policy, "workloads")
			eventually(t, "workloads: admitted with a warning", func(ctx context.Context) (bool, string) {
				r := deploy("w")
				return r.Err == nil && strings.Contains(r.Stderr, "let it through unchanged"), r.Output()
			})
			register(t, policy, "validating")
			eventually(t, "validating, closed: denied naming the fault", func(ctx context.Context) (bool, string) {
				r := pod("v")
				return r.Err != nil && strings.Contains(r.Stderr, "failure mode is closed") && strings.Contains(r.Stderr, "no config loaded"), r.Output()
			})
		})
	}
	broken.Stop()
	for _, policy := range []string{"Fail", "Ignore"} {
		t.Run("down/"+policy, func(t *testing.T) {
			for _, hook := range []string{"mutating", "validating", "workloads"} {
				register(t, policy, hook)
				try := pod
				if hook == "workloads" {
					try = deploy
				}
				eventually(t, hook+" down with "+policy, func(ctx context.Context) (bool, string) {
					r := try("d")
					if policy == "Fail" {
						return r.Err != nil && strings.Contains(r.Stderr, "failed calling webhook"), r.Output()
					}
					return r.Err == nil, r.Output()
				})
			}
		})
	}
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
