package chart

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// renderNotes renders NOTES.txt, which `helm template` never prints, by rendering a copy of
// the chart with one extra template that includes it into a ConfigMap.
func renderNotes(t *testing.T, release string, args ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tollgate")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	probe := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"tollgate/templates/NOTES.txt\" . | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes-probe.yaml"), []byte(probe), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"template", release, dir, "--namespace", namespace, "--show-only", "templates/zz-notes-probe.yaml"}
	out, stderr, err := helm(t, append(base, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return get[corev1.ConfigMap](t, m, "ConfigMap", "notes").Data["notes"]
}

func TestNotes(t *testing.T) {
	t.Parallel()
	notes := renderNotes(t, release)
	for _, want := range []string{
		"kubectl -n tollgate-system rollout status deployment/tollgate",
		"get certificate tollgate-serving-cert",
		"validate-pods.tollgate.dev       failurePolicy=Fail",
		"tollgate.dev/ignore=true (that exact value), and kube-system, tollgate-system.",
		"kubectl label namespace NAME tollgate.dev/ignore=true",
		"kubectl delete validatingwebhookconfiguration tollgate",
		"kubectl delete mutatingwebhookconfiguration tollgate",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "WARNING") {
		t.Errorf("default install warns:\n%s", notes)
	}

	notes = renderNotes(t, release, "--set", "replicaCount=1", "--set", "metrics.serviceMonitor.enabled=true")
	for _, want := range []string{"WARNING: one replica", "does not serve\nmonitoring.coreos.com/v1 ServiceMonitor"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES lack %q:\n%s", want, notes)
		}
	}

	ca := base64.StdEncoding.EncodeToString(testCA(t))
	notes = renderNotes(t, "t", "--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:9443", "--set", "tls.caBundle="+ca,
		"--set", "webhook.mutating.enabled=false")
	if !strings.Contains(notes, "point the API server at https://127.0.0.1:9443") || strings.Contains(notes, "rollout status") {
		t.Errorf("url-mode NOTES:\n%s", notes)
	}
	if strings.Contains(notes, "mutatingwebhookconfiguration") || strings.Contains(notes, "helm upgrade") {
		t.Errorf("url-mode NOTES mention objects or commands that do not apply:\n%s", notes)
	}
}
