package chart

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// TestCertManagerManifestsMatchChart keeps certs/cert-manager (installs without Helm) and the
// chart's defaults for release tollgate in tollgate-system from drifting apart.
func TestCertManagerManifestsMatchChart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(repoRoot, "certs", "cert-manager")

	var kustomization struct {
		Resources []string `json:"resources"`
	}
	readYAML(t, filepath.Join(dir, "kustomization.yaml"), &kustomization, false)
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var listed []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	if diff := cmp.Diff(sorted(listed), sorted(kustomization.Resources)); diff != "" {
		t.Errorf("kustomization resources vs files in certs/cert-manager (-files +kustomization):\n%s", diff)
	}

	chart := template(t)
	seen := map[string]bool{}
	for _, f := range kustomization.Resources {
		for _, doc := range yamlDocs(t, filepath.Join(dir, f)) {
			var obj struct {
				Kind     string         `json:"kind"`
				Metadata map[string]any `json:"metadata"`
				Spec     map[string]any `json:"spec"`
			}
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name, _ := obj.Metadata["name"].(string)
			if ns, _ := obj.Metadata["namespace"].(string); ns != namespace {
				t.Errorf("%s %s: namespace %q, want %s", obj.Kind, name, ns, namespace)
			}
			key := obj.Kind + "/" + name
			seen[key] = true
			rendered, ok := chart.docs[key]
			if !ok {
				t.Errorf("%s in %s is not rendered by the chart", key, f)
				continue
			}
			var want struct {
				Spec map[string]any `json:"spec"`
			}
			if err := yaml.Unmarshal(rendered, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Spec, obj.Spec); diff != "" {
				t.Errorf("%s spec differs from the chart's (-chart +%s):\n%s", key, f, diff)
			}
		}
	}
	for _, k := range chart.keys() {
		if (strings.HasPrefix(k, "Issuer/") || strings.HasPrefix(k, "Certificate/")) && !seen[k] {
			t.Errorf("chart renders %s but certs/cert-manager lacks it", k)
		}
	}
}

// TestNoPrivateKeysCommitted guards against a key from `make certs` ending up in the tree.
func TestNoPrivateKeysCommitted(t *testing.T) {
	t.Parallel()
	ignore, err := os.ReadFile(filepath.Join(repoRoot, "certs", ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Fields(string(ignore)), "/local/") {
		t.Error("certs/.gitignore does not ignore certs/local/")
	}
	for _, dir := range []string{"certs/cert-manager", "charts"} {
		filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.Contains(string(data), "PRIVATE KEY-----") {
				t.Errorf("%s contains a private key", p)
			}
			return nil
		})
	}
}

func readYAML(t *testing.T, path string, into any, strict bool) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unmarshal := yaml.Unmarshal
	if strict {
		unmarshal = yaml.UnmarshalStrict
	}
	if err := unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func yamlDocs(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.TrimSpace(stripComments(string(doc))) != "" {
			docs = append(docs, doc)
		}
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
