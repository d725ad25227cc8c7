package policies_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/policies"
)

// regoFiles returns every embedded .rego file, tests included.
func regoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		files[p], err = policies.FS.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestFormatted is `opa fmt --fail` for the shipped policies.
func TestFormatted(t *testing.T) {
	for name, src := range regoFiles(t) {
		got, err := format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(string(src), string(got)); diff != "" {
			t.Errorf("%s is not opa-fmt formatted (-file +formatted):\n%s", name, diff)
		}
	}
}

// TestStrict is `opa check --strict`: no unused variables, imports or
// shadowed names, with Tollgate's capabilities.
func TestStrict(t *testing.T) {
	modules := map[string]*ast.Module{}
	for name, src := range regoFiles(t) {
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: policy.Capabilities()})
		if err != nil {
			t.Fatal(err)
		}
		modules[name] = m
	}
	c := policy.NewCompiler().WithStrict(true)
	if c.Compile(modules); c.Failed() {
		t.Fatalf("strict compile: %v", policy.FormatErrors(c.Errors))
	}
}

// TestEveryPolicyHasTests: each shipped policy file has a _test.rego beside it.
func TestEveryPolicyHasTests(t *testing.T) {
	files := regoFiles(t)
	for name := range files {
		if !policy.IsPolicyFile(name) {
			continue
		}
		if _, ok := files[strings.TrimSuffix(name, ".rego")+"_test.rego"]; !ok {
			t.Errorf("%s has no %s_test.rego", name, strings.TrimSuffix(name, ".rego"))
		}
	}
}
