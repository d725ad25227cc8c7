//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

const (
	goodConfig = "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: off}\n"
	badConfig  = "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n"
)

// configMap is a manifest of the config ConfigMap of release "cfgcheck".
func configMap(content string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfgcheck-tollgate-config, namespace: tollgate-system}\ndata:\n  config.yaml: |\n    " +
		strings.ReplaceAll(strings.TrimSpace(content), "\n", "\n    ") + "\n"
}

// TestConfigMapEditRefused: with the chart's config webhook registered, a
// kubectl apply of a config ConfigMap that would not load is refused with
// the loader's message; a good one is stored.
func TestConfigMapEditRefused(t *testing.T) {
	ctx := testCtx(t)
	cfg, err := harness.WriteFile(t.TempDir(), "config.yaml", goodConfig)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{
		Name: "tollgate-cfgcheck", Dir: t.TempDir(), Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile,
		ExtraArgs: []string{"--config-configmap=cfgcheck-tollgate-config"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Stop)
	r := harness.Helm(ctx, "", "template", "cfgcheck", harness.ChartDir(), "--namespace", "tollgate-system",
		"--set", "tls.mode=url", "--set", "webhook.url="+tg.URL,
		"--set", "tls.caBundle="+base64.StdEncoding.EncodeToString(tg.CA.CertPEM),
		"--set", "webhook.mutating.enabled=false", "--set", "webhook.validating.enabled=false", "--set", "webhook.workloads.enabled=false")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := kubectl(ctx, r.Stdout, "apply", "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	t.Cleanup(func() {
		kubectl(context.Background(), "", "delete", "validatingwebhookconfiguration", "cfgcheck-tollgate", "--ignore-not-found")
		kubectl(context.Background(), "", "delete", "configmap", "-n", "tollgate-system", "cfgcheck-tollgate-config", "--ignore-not-found")
	})
	const want = `admission webhook "validate-config.tollgate.dev" denied the request: config ConfigMap tollgate-system/cfgcheck-tollgate-config key config.yaml: quota.mode: "maybe" is not one of deny, warn, off`
	// The API server learns of the webhook through an informer.
	eventually(t, "bad config refused", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, configMap(badConfig), "apply", "-f", "-")
		return r.Err != nil && strings.Contains(r.Stderr, want), r.Output()
	})
	t.Logf("kubectl apply says: %s", strings.TrimSpace(kubectl(ctx, configMap(badConfig), "apply", "-f", "-").Stderr))
	if r := kubectl(ctx, configMap(goodConfig), "apply", "-f", "-"); r.Err != nil {
		t.Fatalf("good config refused: %s", r.Output())
	}
	if r := kubectl(ctx, configMap(badConfig), "apply", "-f", "-"); r.Err == nil || !strings.Contains(r.Stderr, want) {
		t.Fatalf("bad edit of a stored config: %s", r.Output())
	}
}

// TestReplicaStartsOnBadConfig: a replica started on a config it cannot
// load stays up, not ready, with the error in /readyz, its log and
// tollgate_config_valid 0; it becomes ready once the file is fixed.
func TestReplicaStartsOnBadConfig(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	cfg, err := harness.WriteFile(dir, "config.yaml", badConfig)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{
		Name: "tollgate-badstart", Dir: dir, Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile, Unready: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Stop)
	const loaderErr = `quota.mode: "maybe" is not one of deny, warn, off`
	eventually(t, "not ready, saying why", func(ctx context.Context) (bool, string) {
		code, body := get(ctx, tg.HealthURL+"/readyz?verbose")
		return code == http.StatusServiceUnavailable || code == http.StatusInternalServerError, body
	})
	if _, body := get(ctx, tg.HealthURL+"/readyz?verbose"); !strings.Contains(body, "config") {
		t.Errorf("/readyz does not name the config check: %s", body)
	}
	// The log is JSON, so the quotes of the message are escaped there.
	if logged := strings.ReplaceAll(tg.Process().Tail(20000), `\"`, `"`); !strings.Contains(logged, loaderErr) {
		t.Errorf("log does not carry the loader's error %q", loaderErr)
	}
	if v, err := tg.MetricSum("tollgate_config_valid"); err != nil || v != 0 {
		t.Errorf("tollgate_config_valid = %v (%v), want 0", v, err)
	}
	if code, _ := get(ctx, tg.HealthURL+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answers %d: the kubelet would restart the replica", code)
	}
	if done, _ := tg.Process().Exited(); done {
		t.Fatal("the replica exited")
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(goodConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ready once the file loads", func(ctx context.Context) (bool, string) {
		code, body := get(ctx, tg.HealthURL+"/readyz")
		return code == http.StatusOK, body
	})
	if v, err := tg.MetricSum("tollgate_config_valid"); err != nil || v != 1 {
		t.Errorf("tollgate_config_valid = %v (%v) after the fix, want 1", v, err)
	}
}

func get(ctx context.Context, url string) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8192))
	return resp.StatusCode, string(b)
}
