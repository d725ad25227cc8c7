// Package chart tests the Helm chart in charts/tollgate, the cert-manager manifests in certs/
// and the Dockerfile, offline. Rendering shells out to the helm binary named by $HELM
// (make chart-test sets it); the rendered YAML is decoded strictly into the Kubernetes API
// types, so a misspelt field in a template fails here rather than at install time.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var (
	helmBin  string // resolved helm binary; empty when HELM is unset
	helmErr  error  // HELM is set but names no executable
	repoRoot string // the module root
	chartDir string // charts/tollgate
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	chartDir = filepath.Join(repoRoot, "charts", "tollgate")

	// Keep helm away from the user's repositories, plugins and caches.
	home, err := os.MkdirTemp("", "tollgate-chart-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, v := range []string{"HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"} {
		os.Setenv(v, filepath.Join(home, strings.ToLower(v)))
	}
	os.Unsetenv("HELM_NAMESPACE")
	os.Unsetenv("KUBECONFIG")
	helmBin, helmErr = findHelm()
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// findHelm resolves $HELM. Unset means "not asked to test the chart": the helm-based tests
// skip, because `make test-unit` runs ./test/... before `make chart-test` has installed helm
// (and then runs these tests with HELM set). Set but not found is a failure.
func findHelm() (string, error) {
	h := os.Getenv("HELM")
	if h == "" {
		return "", nil
	}
	p, err := exec.LookPath(h)
	if err != nil {
		return "", fmt.Errorf("HELM=%s: %v", h, err)
	}
	return p, nil
}

func needHelm(t *testing.T) {
	t.Helper()
	if helmErr != nil {
		t.Fatalf("%v (run `make chart-test`, which installs helm v3.22.0 and sets HELM)", helmErr)
	}
	if helmBin == "" {
		t.Skip("HELM is not set: run `make chart-test`, or HELM=/path/to/helm go test ./test/chart")
	}
}

// helm runs the helm binary and returns stdout, stderr and the run error.
func helm(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	needHelm(t)
	cmd := exec.Command(helmBin, args...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// manifests is one `helm template` output, indexed by kind and name.
type manifests struct {
	docs  map[string][]byte // "Kind/name" -> YAML
	order []string
}

// template renders the chart as release "tollgate" in namespace "tollgate-system" with extra
// helm arguments (--set ..., -f ...) and fails the test if helm does.
func template(t *testing.T, args ...string) *manifests {
	t.Helper()
	out, stderr, err := templateRaw(t, args...)
	if err != nil {
		t.Fatalf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	m, err := parseManifests(out)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	return m
}

func templateRaw(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	base := []string{"template", "tollgate", chartDir, "--namespace", "tollgate-system", "--no-hooks"} // hooks run only on uninstall; see TestUninstallHooks
	return helm(t, append(base, args...)...)
}

func parseManifests(out string) (*manifests, error) {
	m := &manifests{docs: map[string][]byte{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		var head struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%v in\n%s", err, doc)
		}
		if head.Kind == "" {
			continue // a document holding only comments
		}
		key := head.Kind + "/" + head.Metadata.Name
		if _, dup := m.docs[key]; dup {
			return nil, fmt.Errorf("%s rendered twice", key)
		}
		m.docs[key] = doc
		m.order = append(m.order, key)
	}
}

// keys lists "Kind/name" of every rendered object, in output order.
func (m *manifests) keys() []string { return append([]string(nil), m.order...) }

func (m *manifests) has(kind, name string) bool {
	_, ok := m.docs[kind+"/"+name]
	return ok
}

// get decodes one object strictly: a field the API type does not have is an error.
func get[T any](t *testing.T, m *manifests, kind, name string) *T {
	t.Helper()
	doc, ok := m.docs[kind+"/"+name]
	if !ok {
		t.Fatalf("%s/%s not rendered; have %v", kind, name, m.keys())
	}
	obj := new(T)
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("decode %s/%s: %v\n%s", kind, name, err, doc)
	}
	return obj
}

// valuesFile writes a values file for -f and returns its path.
func valuesFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
