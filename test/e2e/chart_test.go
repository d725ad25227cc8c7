//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

func helm(ctx context.Context, args ...string) harness.Result {
	return harness.Helm(ctx, env.api.Kubeconfig, args...)
}

// The chart lints cleanly, and what it renders in cert-manager mode and in
// provided mode is accepted by a real API server (server-side dry run, with
// cert-manager's CRDs installed).
func TestChartRendersValidObjects(t *testing.T) {
	ctx := testCtx(t)
	chart := harness.ChartDir()
	caBundle := base64.StdEncoding.EncodeToString(env.tg.CA.CertPEM)

	for name, sets := range map[string][]string{
		"certManager": nil,
		"provided":    {"tls.mode=provided", "tls.secretName=tollgate-tls", "tls.caBundle=" + caBundle},
		"url":         {"tls.mode=url", "webhook.url=" + env.tg.URL, "tls.caBundle=" + caBundle},
	} {
		args := []string{"lint", "--strict", chart, "--namespace", "tollgate-system"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		if r := helm(ctx, args...); r.Err != nil {
			t.Errorf("helm lint --strict (%s): %v\n%s", name, r.Err, r.Stdout)
		}
	}

	installCertManagerCRDs(t, ctx)
	for name, sets := range map[string][]string{
		"certManager": nil,
		"provided":    {"tls.mode=provided", "tls.secretName=tollgate-tls", "tls.caBundle=" + caBundle},
	} {
		args := []string{"template", "tollgate", chart, "--namespace", "tollgate-system", "--no-hooks"}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		r := helm(ctx, args...)
		if r.Err != nil {
			t.Errorf("helm template (%s): %v", name, r.Err)
			continue
		}
		a := kubectl(ctx, r.Stdout, "apply", "--dry-run=server", "-n", "tollgate-system", "-f", "-")
		if a.Err != nil {
			t.Errorf("kubectl apply --dry-run=server of the %s rendering: %v", name, a.Err)
			continue
		}
		t.Logf("%s mode, server-side dry run:\n%s", name, strings.TrimSpace(a.Stdout))
	}
}

// installCertManagerCRDs applies the CRDs of the cert-manager the suite runs.
func installCertManagerCRDs(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := harness.InstallCertManagerCRDs(ctx, env.api.Kubeconfig); err != nil {
		t.Fatal(err)
	}
}

// `helm install` in URL mode registers working webhooks: with the suite's
// own registration removed (and a disallowed image admitted, proving no
// webhook is in effect), the installed release denies it again and injects
// defaults. The suite's registration is restored afterwards.
func TestHelmInstallURLMode(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-helm"
	namespace(t, env.api.Client, ns, map[string]string{"e2e.tollgate.dev/profile": "small"}, true)
	own, err := harness.RenderWebhooks(ctx, env.tg, "tollgate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = helm(ctx, "uninstall", "e2e-url", "--namespace", "tollgate-system")
		if err := harness.RegisterWebhooks(ctx, env.api, env.tg, "tollgate"); err != nil {
			t.Errorf("restore webhooks: %v", err)
		}
	})
	if r := kubectl(ctx, own, "delete", "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	evil := simplePod("evil", "quay.io/evil/miner:1.0")
	eventually(t, "no webhook in effect after deleting the suite's registration", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, evil)
		return err == nil, errString(err)
	})

	r := helm(ctx, "install", "e2e-url", harness.ChartDir(), "--namespace", "tollgate-system",
		"--set", "tls.mode=url", "--set", "webhook.url="+env.tg.URL,
		"--set", "tls.caBundle="+base64.StdEncoding.EncodeToString(env.tg.CA.CertPEM))
	if r.Err != nil {
		t.Fatalf("helm install: %v", r.Err)
	}
	t.Logf("helm install:\n%s", strings.TrimSpace(r.Stdout))
	eventually(t, "installed release denies a disallowed image", func(ctx context.Context) (bool, string) {
		_, err := dryRun(ctx, env.api.Client, ns, evil)
		return denied(err, "quay.io/evil/miner"), errString(err)
	})
	// The mutating configuration reaches the API server through its own informer.
	eventually(t, "installed release injects defaults", func(ctx context.Context) (bool, string) {
		got, err := dryRun(ctx, env.api.Client, ns, simplePod("good", pause))
		if err != nil {
			return false, err.Error()
		}
		_, ok := got.Annotations[annotationDefaulted]
		return ok, fmt.Sprintf("annotations %v", got.Annotations)
	})
}
