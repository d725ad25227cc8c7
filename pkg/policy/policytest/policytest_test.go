package policytest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite want.yaml of test/fixtures/policy")

// TestShipped runs the shipped policies' Rego tests and the policy
// fixtures, as `make test` does with `tollgate test`.
func TestShipped(t *testing.T) {
	var out bytes.Buffer
	dirs := []string{"../../../policies", "../../../test/fixtures/policy"}
	failed, err := Run(t.Context(), dirs, Options{Out: &out, Verbose: true, Update: *update})
	t.Log("\n" + out.String())
	if failed || err != nil {
		t.Fatalf("Run failed: %v", err)
	}
	if !regexp.MustCompile(`(?m)^ok\t../../../policies\t.*\t\d+ passed$`).MatchString(out.String()) {
		t.Errorf("no ok line for policies/ in:\n%s", out.String())
	}
	cases, _ := filepath.Glob("../../../test/fixtures/policy/*/request.yaml")
	if len(cases) < 25 {
		t.Errorf("%d policy fixture cases, want at least 25", len(cases))
	}
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const request = `apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: 1
  kind: {group: "", version: v1, kind: Pod}
  resource: {group: "", version: v1, resource: pods}
  namespace: default
  operation: CREATE
  userInfo: {username: alice}
  object:
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: default}
    spec:
      containers:
      - {name: app, image: "busybox:1"}
`

func TestRunReportsFailures(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"no_busybox.rego": "package tollgate.no_busybox\n\ndeny contains {\"msg\": \"busybox\", \"path\": \"spec.containers[0].image\"} if {\n\tsome c in input.object.spec.containers\n\tendswith(tollgate.image.parse(c.image).repository, \"/busybox\")\n}\n",
		"no_busybox_test.rego": "package tollgate.no_busybox_test\n\nimport data.tollgate.no_busybox\n\n" +
			"test_denied if count(no_busybox.deny) == 1 with input as {\"object\": {\"spec\": {\"containers\": [{\"image\": \"busybox\"}]}}}\n\n" +
			"test_wrong if {\n\tprint(\"debug output\")\n\tcount(no_busybox.deny) == 0 with input as {\"object\": {\"spec\": {\"containers\": [{\"image\": \"busybox\"}]}}}\n}\n",
		"cases/denied/request.yaml": request,
		"cases/denied/want.yaml":    "allowed: false\nreasons:\n- code: policy.no-busybox\n  message: '[no-busybox] busybox'\n  path: spec.containers[0].image\n",
		"cases/wrong/request.yaml":  request,
		"cases/wrong/want.yaml":     "allowed: true\n",
	})
	var out bytes.Buffer
	failed, err := Run(t.Context(), []string{dir}, Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Errorf("Run: failed = false, want true")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL: tollgate.no_busybox_test.test_wrong",
		"no_busybox_test.rego:7: test rule is false or undefined",
		"    output:\n    debug output",
		"--- FAIL: " + filepath.ToSlash(filepath.Join(dir, "cases/wrong")),
		"    got:\n      allowed: false\n",
		"    want:\n      allowed: true\n",
		"FAIL\t" + dir + "\t",
		"2 passed, 2 failed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output does not contain %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "PASS") {
		t.Errorf("passing cases listed without Verbose:\n%s", got)
	}
}

// TestRunUserPolicyWithShippedHelpers: a policy directory's tests and
// fixtures see the shipped helpers and policies, as the webhook does.
func TestRunUserPolicyWithShippedHelpers(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"mine.rego": "package tollgate.mine\n\nimport data.tollgate.lib.pod\n\nwarn contains pod.describe(c) if some c in pod.containers\n",
		"mine_test.rego": "package tollgate.mine_test\n\nimport data.tollgate.mine\n\n" +
			"test_uses_lib if mine.warn == {`container \"app\"`} with input as {\"request\": {\"operation\": \"CREATE\"}, \"object\": {\"spec\": {\"containers\": [{\"name\": \"app\", \"image\": \"x:1\"}]}}}\n",
		"case/request.yaml": request,
		"case/want.yaml":    "allowed: true\nwarnings:\n- '[mine] container \"app\"'\n",
	})
	var out bytes.Buffer
	failed, err := Run(t.Context(), []string{dir}, Options{Out: &out, Verbose: true})
	if failed || err != nil {
		t.Fatalf("Run: failed=%v err=%v\n%s", failed, err, out.String())
	}
	if !strings.Contains(out.String(), "2 passed") {
		t.Errorf("want 2 passed:\n%s", out.String())
	}
}

func TestRunBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{"p.rego": "package tollgate.p\n\ndeny contains x if {\n"})
	var out bytes.Buffer
	failed, err := Run(t.Context(), []string{dir}, Options{Out: &out})
	if !failed || err == nil || !strings.Contains(err.Error(), "p.rego:") {
		t.Errorf("Run on a broken policy: failed=%v err=%v, want failure naming p.rego", failed, err)
	}
}

func TestRunEmptyDir(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(t.Context(), []string{t.TempDir()}, Options{Out: &out})
	if failed || err != nil || !strings.Contains(out.String(), "[no Rego tests or fixture cases]") {
		t.Errorf("Run on an empty dir: failed=%v err=%v out=%q", failed, err, out.String())
	}
}

func TestRunBuiltin(t *testing.T) {
	var out bytes.Buffer
	failed, err := Run(t.Context(), []string{Builtin}, Options{Out: &out})
	if failed || err != nil || !regexp.MustCompile(`(?m)^ok\t\(built-in\)\t.*\t\d+ passed$`).MatchString(out.String()) {
		t.Errorf("Run(Builtin): failed=%v err=%v\n%s", failed, err, out.String())
	}
}

// TestRunRegistryFlag: a case without registry.yaml takes the registry
// fixture given to Run (tollgate test --registry); without it, the signed
// image cannot be verified and the case fails.
func TestRunRegistryFlag(t *testing.T) {
	fixtures, err := filepath.Abs(filepath.Join("..", "..", "..", "test", "fixtures", "signatures"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"signed/request.yaml": strings.Replace(request, `"busybox:1"`, `"oci11.registry.test/app:bundle"`, 1),
		"signed/config.yaml": "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nverification:\n  trust:\n  - {name: release, registries: [oci11.registry.test], publicKeyFile: " +
			filepath.Join(fixtures, "registry", "release.pub") + "}\npolicies:\n  settings:\n    require-signature:\n      parameters: {rules: [{registries: [oci11.registry.test], trust: [release]}]}\n",
		"signed/want.yaml": "allowed: true\n",
	})
	var out bytes.Buffer
	if failed, err := Run(t.Context(), []string{dir}, Options{Out: &out, Registry: filepath.Join(fixtures, "registry")}); err != nil || failed {
		t.Errorf("with --registry: failed %v, err %v:\n%s", failed, err, out.String())
	}
	out.Reset()
	if failed, _ := Run(t.Context(), []string{dir}, Options{Out: &out}); !failed || !strings.Contains(out.String(), "no registry access") {
		t.Errorf("without a registry: failed %v, want the case to fail as unverified:\n%s", failed, out.String())
	}
}
