package chart

import (
	"strings"
	"testing"
)

// TestUninstallHooks: by default the chart carries pre-delete hooks named
// like its webhook configurations, with no webhooks, which Helm's
// before-hook-creation policy uses to delete the live configurations before
// the Service and the Pods; webhook.removeFirstOnUninstall=false drops them.
func TestUninstallHooks(t *testing.T) {
	out, stderr, err := helm(t, "template", "tollgate", chartDir, "--namespace", "tollgate-system", "--show-only", "templates/uninstall-hook.yaml")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		"kind: MutatingWebhookConfiguration", "kind: ValidatingWebhookConfiguration",
		"name: tollgate\n", "helm.sh/hook: pre-delete", "helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded", "webhooks: []",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("uninstall hooks lack %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "helm.sh/hook: pre-delete"); n != 2 {
		t.Errorf("want 2 hooks (mutating, validating), got %d", n)
	}
	_, stderr, err = helm(t, "template", "tollgate", chartDir, "--set", "webhook.removeFirstOnUninstall=false", "--show-only", "templates/uninstall-hook.yaml")
	if err == nil || !strings.Contains(stderr, "could not find template") {
		t.Errorf("removeFirstOnUninstall=false still renders the hooks (err %v): %s", err, stderr)
	}
}
