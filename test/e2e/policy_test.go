//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Image provenance as the user sees it in kubectl: a registry outside the
// allow list is denied with the reason, a "latest" tag only warns.
func TestImagePolicy(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-images"
	namespace(t, env.api.Client, ns, nil, true)

	r := kubectl(ctx, "", "run", "miner", "-n", ns, "--image=quay.io/evil/miner:1.0")
	if r.Err == nil {
		t.Fatalf("image from quay.io was admitted:\n%s", r.Output())
	}
	for _, want := range []string{"denied the request", "quay.io/evil/miner:1.0", "allowed registr"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("denial lacks %q:\n%s", want, r.Stderr)
		}
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Stderr))

	r = kubectl(ctx, "", "run", "floating", "-n", ns, "--image=nginx")
	if r.Err != nil {
		t.Fatalf("nginx (implicit latest, disallowed-tags in warn mode) was refused: %v", r.Err)
	}
	if !strings.Contains(r.Stderr, "Warning:") || !strings.Contains(r.Stderr, "latest") {
		t.Errorf("no warning about the latest tag in kubectl output:\n%s", r.Output())
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Output()))

	if r := kubectl(ctx, "", "run", "ok", "-n", ns, "--image=ghcr.io/acme/api:1.2.3"); r.Err != nil {
		t.Errorf("image from an allowed repository was refused: %v", r.Err)
	}
}

// Ephemeral containers (kubectl debug) go through the
// pods/ephemeralcontainers subresource, which the validating webhook sees:
// a debug image from a registry outside the allow list is refused, an
// allowed one is added.
func TestEphemeralContainerUpdate(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-debug"
	namespace(t, env.api.Client, ns, nil, true)
	if r := kubectl(ctx, "", "run", "target", "-n", ns, "--image="+pause); r.Err != nil {
		t.Fatal(r.Err)
	}

	r := kubectl(ctx, "", "debug", "target", "-n", ns, "--image=quay.io/evil/toolbox:1", "--container=evil")
	if r.Err == nil {
		t.Fatalf("kubectl debug with a disallowed image succeeded:\n%s", r.Output())
	}
	if !strings.Contains(r.Stderr, "quay.io/evil/toolbox:1") {
		t.Errorf("denial does not name the debug image:\n%s", r.Stderr)
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Stderr))

	if r := kubectl(ctx, "", "debug", "target", "-n", ns, "--image=registry.k8s.io/e2e-test-images/busybox:1.36.1-1", "--container=dbg"); r.Err != nil {
		t.Fatalf("kubectl debug with an allowed image failed: %v", r.Err)
	}
	p, err := env.api.Client.CoreV1().Pods(ns).Get(ctx, "target", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ec := range p.Spec.EphemeralContainers {
		names = append(names, ec.Name)
	}
	if len(names) != 1 || names[0] != "dbg" {
		t.Errorf("ephemeral containers stored = %v; want only [dbg]", names)
	}
}

// An extra policy directory (--policies) and the config file are reloaded
// while serving: a new Rego policy starts denying, a changed parameter
// changes the decision, and both revert when the files do.
func TestHotReload(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-reload"
	namespace(t, env.api.Client, ns, nil, true)
	labelled := simplePod("labelled", pause)
	labelled.Labels = map[string]string{"e2e-reload": "deny"}

	if _, err := dryRun(ctx, env.api.Client, ns, labelled); err != nil {
		t.Fatalf("before the policy exists the Pod should be admitted: %v", err)
	}
	policyFile := env.policyDir + "/e2e_label.rego"
	if err := writeFile(policyFile, reloadPolicy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeFile(policyFile) })
	eventually(t, "new Rego policy enforced", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, labelled)
		return denied(err, "e2e-reload=deny is refused"), errString(err)
	})
	if err := removeFile(policyFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, "removed Rego policy no longer enforced", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, labelled)
		return err == nil, errString(err)
	})

	// Config: allow quay.io/evil/* and watch the decision flip, then restore.
	evil := simplePod("evil", "quay.io/evil/miner:1.0")
	if _, err := dryRun(ctx, env.api.Client, ns, evil); !denied(err) {
		t.Fatalf("quay.io image should be denied by the base config, got %v", err)
	}
	widened := strings.Replace(baseConfig, "ghcr.io/acme/*]", "ghcr.io/acme/*, quay.io/evil/*]", 1)
	if err := writeFile(env.configPath, widened); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writeFile(env.configPath, baseConfig) })
	eventually(t, "config change admits quay.io/evil", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, evil)
		return err == nil, errString(err)
	})
	// A broken config is refused (a failed reload is counted) and the last
	// good one stays live.
	failures := func() float64 {
		v, err := env.tg.MetricSum("tollgate_reloads_total", `result="failure"`)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := failures()
	if err := writeFile(env.configPath, "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "broken config refused", func(context.Context) (bool, string) {
		n := failures()
		return n > before, fmt.Sprintf("%v failed reloads", n)
	})
	if _, err := dryRun(ctx, env.api.Client, ns, evil); err != nil {
		t.Errorf("after a broken config the last good config should stay live: %v", err)
	}
	if err := writeFile(env.configPath, baseConfig); err != nil {
		t.Fatal(err)
	}
	eventually(t, "restored config denies quay.io/evil again", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, evil)
		return denied(err, "quay.io/evil/miner"), errString(err)
	})
}

const reloadPolicy = `package tollgate.e2e_label

metadata := {
	"description": "e2e: refuse Pods labelled e2e-reload=deny.",
	"defaultAction": "deny",
	"parameters": {"type": "object"},
}

deny contains result if {
	input.object.metadata.labels["e2e-reload"] == "deny"
	result := {"msg": "label e2e-reload=deny is refused", "path": "metadata.labels"}
}
`

func errString(err error) string {
	if err == nil {
		return "admitted"
	}
	return err.Error()
}
