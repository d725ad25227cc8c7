//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// registerOnly renders the chart's webhook configurations for tg (served by
// URL, release name release) with only hooks enabled under failurePolicy
// policy, selecting namespaces that carry the label selectKey, and applies
// them; they are deleted when t ends.
func registerOnly(ctx context.Context, t *testing.T, release string, tg *harness.Tollgate, selectKey, policy string, hooks ...string) {
	t.Helper()
	sets := []string{"tls.mode=url", "webhook.url=" + tg.URL, "tls.caBundle=" + base64.StdEncoding.EncodeToString(tg.CA.CertPEM),
		"webhook.ignoreLabel=e2e.tollgate.dev/not-" + release, "webhook.config.enabled=false",
		"webhook.namespaceSelectorExpressions[0].key=" + selectKey, "webhook.namespaceSelectorExpressions[0].operator=Exists"}
	for _, h := range []string{"mutating", "validating", "workloads"} {
		sets = append(sets, "webhook."+h+".enabled="+boolWord(slices.Contains(hooks, h)), "webhook."+h+".failurePolicy="+policy)
	}
	// --no-hooks: the uninstall hooks carry the same names, with no webhooks.
	args := []string{"template", release, harness.ChartDir(), "--no-hooks"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	r := harness.Helm(ctx, "", args...)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	name := release + "-tollgate"
	kubectl(ctx, "", "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", name, "--ignore-not-found")
	if r := kubectl(ctx, r.Stdout, "apply", "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	t.Cleanup(func() {
		kubectl(context.Background(), "", "delete", "mutatingwebhookconfiguration,validatingwebhookconfiguration", name, "--ignore-not-found")
	})
}

// failingPolicy fails to evaluate on every Pod (to_number of a name is a
// builtin error under strict builtin errors): an evaluation error, the
// malfunction policies.failureMode is about.
const failingPolicy = `package tollgate.e2e_fails

metadata := {
	"description": "e2e: always fails to evaluate.",
	"defaultAction": "deny",
	"parameters": {"type": "object"},
}

deny contains result if {
	to_number(input.object.metadata.name) > 0
	result := {"msg": "never reached", "path": "metadata.name"}
}
`

// TestFailureModeOpen: on the real API server, a policy that fails to
// evaluate under policies.failureMode open admits the Pod with a warning
// naming the failure (under Fail and Ignore alike: Tollgate answers), and
// the same policy under closed denies it naming the policy and the failure.
func TestFailureModeOpen(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-open"
	namespace(t, env.api.Client, ns, map[string]string{"tollgate.dev/ignore": "true", "e2e.tollgate.dev/open": "yes"}, true)
	for _, mode := range []string{"open", "closed"} {
		dir := t.TempDir()
		cfg, err := harness.WriteFile(dir, "config.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {failureMode: "+mode+"}\n")
		if err != nil {
			t.Fatal(err)
		}
		polDir := filepath.Join(dir, "policies")
		if _, err := harness.WriteFile(polDir, "fails.rego", failingPolicy); err != nil {
			t.Fatal(err)
		}
		tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{Name: "tollgate-" + mode, Dir: dir, Kubeconfig: env.api.Kubeconfig,
			ConfigFile: cfg, PolicyDirs: []string{polDir}, ClientCAFile: env.cp.WebhookClient.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		for _, policy := range []string{"Fail", "Ignore"} {
			t.Run(mode+"/"+policy, func(t *testing.T) {
				registerOnly(ctx, t, "mode-"+mode, tg, "e2e.tollgate.dev/open", policy, "validating")
				seen := ""
				eventually(t, "failureMode "+mode, func(ctx context.Context) (bool, string) {
					r := kubectl(ctx, "", "run", "p", "-n", ns, "--image="+pause, "--dry-run=server")
					if r.Output() == "" { // cut off by the deadline: show the last answer
						return false, seen
					}
					seen = r.Output()
					if mode == "open" {
						return r.Err == nil && strings.Contains(r.Stderr, "[e2e-fails]") && strings.Contains(r.Stderr, "failureMode open"), r.Output()
					}
					return r.Err != nil && strings.Contains(r.Stderr, "[e2e-fails]") && strings.Contains(r.Stderr, "could not be evaluated (failureMode closed)"), r.Output()
				})
			})
		}
		tg.Stop()
	}
}
