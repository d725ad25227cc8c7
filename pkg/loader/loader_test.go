package loader

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
)

// What `tollgate serve` does on load and on every reload: a policy
// directory that defines the reserved helpers is refused, and one that
// replaces a shipped policy needs the config to name it.
func TestLoadGuardsShippedPackages(t *testing.T) {
	dir := t.TempDir()
	policyDir := filepath.Join(dir, "policies")
	must(t, os.MkdirAll(filepath.Join(policyDir, "lib"), 0o755))
	configFile := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(configFile, []byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"), 0o644))
	src := Sources{ConfigFile: configFile, PolicyDirs: []string{policyDir}}

	must(t, os.WriteFile(filepath.Join(policyDir, "lib", "pod.rego"), []byte("package tollgate.lib.pod\n\ncontainers := set()\nimages := set()\n"), 0o644))
	_, err := Load(t.Context(), src)
	if err == nil || !strings.Contains(err.Error(), "lib/pod.rego:1: package data.tollgate.lib.pod is reserved for Tollgate's own helpers") {
		t.Fatalf("custom tollgate.lib.pod: Load error = %v", err)
	}
	must(t, os.Remove(filepath.Join(policyDir, "lib", "pod.rego")))

	must(t, os.WriteFile(filepath.Join(policyDir, "ar.rego"), []byte("package tollgate.allowed_registries\n\ndeny contains \"mine\" if false\n"), 0o644))
	_, err = Load(t.Context(), src)
	if err == nil || !strings.Contains(err.Error(), `replace policy "allowed-registries"`) || !strings.Contains(err.Error(), "policies.overrides") {
		t.Fatalf("replacement without override: Load error = %v", err)
	}
	must(t, os.WriteFile(configFile, []byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies:\n  overrides: [allowed-registries]\n"), 0o644))
	st, err := Load(t.Context(), src)
	if err != nil {
		t.Fatalf("replacement named in overrides: %v", err)
	}
	if rs := st.Policies.Replacements(); len(rs) != 1 || rs[0].Policy != "allowed-registries" {
		t.Errorf("Replacements = %+v", rs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The registry lookups of pinning are built with each loaded config, so a
// reload swaps config and registry client together; one that cannot be
// built refuses the load like a bad file.
func TestLoadBuildsPinningLookups(t *testing.T) {
	configFile := filepath.Join(t.TempDir(), "config.yaml")
	must(t, os.WriteFile(configFile, []byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\n"), 0o644))
	var seen *config.Config
	want := &stubLookups{}
	src := Sources{ConfigFile: configFile, Lookups: func(c *config.Config) (pipeline.ImageLookups, error) {
		seen = c
		return want, nil
	}}
	st, err := Load(t.Context(), src)
	if err != nil || st.Lookups != want || seen != st.Config {
		t.Fatalf("Load: lookups %v (built for %p, config %p), %v", st.Lookups, seen, st.Config, err)
	}
	src.Lookups = func(*config.Config) (pipeline.ImageLookups, error) { return nil, errors.New("no CA") }
	if _, err := Load(t.Context(), src); err == nil || !strings.Contains(err.Error(), "pinning: no CA") {
		t.Errorf("Load with failing lookups: %v", err)
	}
}

type stubLookups struct{}

func (*stubLookups) Resolve(context.Context, string, *corev1.Pod, []pinning.Candidate) map[string]pinning.Resolution {
	return nil
}
