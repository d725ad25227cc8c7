package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
)

const denyImage = `package tollgate.no_image

deny contains msg if {
	some c in input.object.spec.containers
	c.image == "%s"
	msg := sprintf("image %%s is banned", [c.image])
}
`

// TestReloadSwapsGoodAndRefusesBad edits a policy directory and the config
// file under a running reloader: a good change takes effect without a
// restart; a broken one is refused, counted, and the old set stays enforced.
func TestReloadSwapsGoodAndRefusesBad(t *testing.T) {
	dir := t.TempDir()
	policyDir := filepath.Join(dir, "policies")
	if err := os.Mkdir(policyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(dir, "config", "config.yaml")
	if err := os.Mkdir(filepath.Dir(configFile), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(policyDir, "ban.rego"), strings.ReplaceAll(denyImage, "%s", "old:1"))
	write(t, configFile, "apiVersion: tollgate.dev/v1alpha1\nkind: Config\n")

	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	src := loader.Sources{ConfigFile: configFile, PolicyDirs: []string{policyDir}, NoBuiltinPolicies: true}
	st, err := loader.Load(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(cluster.NewStatic(), st, pipeline.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- (&reloader{sources: src, pipeline: p, metrics: m}).Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(100 * time.Millisecond) // let the watcher start

	if !denied(t, p, "old:1") || denied(t, p, "new:1") {
		t.Fatal("initial policy not in force")
	}
	write(t, filepath.Join(policyDir, "ban.rego"), strings.ReplaceAll(denyImage, "%s", "new:1"))
	eventually(t, "good policy change applied", func() bool { return denied(t, p, "new:1") && !denied(t, p, "old:1") })

	write(t, filepath.Join(policyDir, "ban.rego"), "package tollgate.no_image\n\ndeny contains msg if {\n  msg := \n}\n")
	eventually(t, "broken policy refused", func() bool { return counter(t, reg, "tollgate_reloads_total", "failure") >= 1 })
	if !denied(t, p, "new:1") {
		t.Fatal("after a broken change the last good policy set is no longer enforced")
	}

	// Config and policies are one state: repair the policy, then change the config.
	write(t, filepath.Join(policyDir, "ban.rego"), strings.ReplaceAll(denyImage, "%s", "new:1"))
	write(t, configFile, "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: warn}\n")
	eventually(t, "config change applied", func() bool { return p.State().Config.Quota.Mode == "warn" })
	write(t, configFile, "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: sometimes}\n")
	eventually(t, "bad config refused", func() bool { return counter(t, reg, "tollgate_reloads_total", "failure") >= 2 })
	if p.State().Config.Quota.Mode != "warn" {
		t.Fatal("a bad config replaced the good one")
	}
}

func denied(t *testing.T, p *pipeline.Pipeline, image string) bool {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "a"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
	}
	v, err := p.Validate(t.Context(), pipeline.Request{Request: policy.Request{Operation: "CREATE", Namespace: "a", Name: "p"}, Pod: pod})
	if err != nil {
		t.Fatal(err)
	}
	return !v.Allowed()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 10 s: file events and the settle delay
// make the reload asynchronous. It asserts an outcome, not a duration.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: did not happen", what)
}

func counter(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestReloadIgnoresNeighboursOfTheConfigFile: files written next to the
// config (logs, editor swap files) do not trigger a reload; the config, a
// ConfigMap's ..data swap, policies and certificates do.
func TestReloadIgnoresNeighboursOfTheConfigFile(t *testing.T) {
	r := &reloader{certDir: "/certs", sources: loader.Sources{ConfigFile: "/etc/tollgate/config.yaml", PolicyDirs: []string{"/policies", "/etc/shared"}}}
	tests := map[string]bool{
		"/etc/tollgate/config.yaml":           true,
		"/etc/tollgate/..data":                true,
		"/etc/tollgate/..2026_11_22_16_00_00": true,
		"/etc/tollgate/kube-apiserver.log":    false,
		"/etc/tollgate/.config.yaml.swp":      false,
		"/etc/tollgate/etcd/member/wal":       false,
		"/policies/ban.rego":                  true,
		"/policies/lib/..data":                true,
		"/certs/tls.crt":                      true,
	}
	for name, want := range tests {
		if got := r.relevant(name); got != want {
			t.Errorf("relevant(%q) = %v, want %v", name, got, want)
		}
	}
	shared := &reloader{sources: loader.Sources{ConfigFile: "/etc/shared/config.yaml", PolicyDirs: []string{"/etc/shared"}}}
	if !shared.relevant("/etc/shared/ban.rego") {
		t.Error("a policy in the config file's directory does not trigger a reload")
	}
}
