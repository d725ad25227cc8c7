package test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jsonpatchv5 "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/apidefaults"
	"github.com/tollgate-dev/tollgate/pkg/cli"
	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/fixture"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/pkg/workload"
	"github.com/tollgate-dev/tollgate/policies"
)

var update = flag.Bool("update", false, "rewrite want.yaml and want-object.yaml from what the handlers return")

// result is what a user sees of one request after both webhooks.
type result struct {
	fixture.Want
	Object *corev1.Pod
}

// TestFixtures runs every case under fixtures/ through the real HTTP
// handlers (mutating, then validating on the patched object, as the API
// server does) and through `tollgate eval`; both must agree with each other
// and with the golden files.
func TestFixtures(t *testing.T) {
	dirs, err := fixture.Find("fixtures")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no fixture cases found")
	}
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatalf("load shipped policies: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.ToSlash(dir[len("fixtures/"):]), func(t *testing.T) {
			c, err := fixture.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			cfg := c.Config
			if cfg == nil {
				cfg = config.Default()
			}
			if err := engine.Validate(cfg.Policies); err != nil {
				t.Fatalf("config.yaml: %v", err)
			}
			// What the webhooks receive: the API server defaults every Pod
			// first (eval applies the same to the file itself).
			if err := apidefaults.Request(c.Review.Request); err != nil {
				t.Fatal(err)
			}
			st := &pipeline.State{Config: cfg, Policies: engine}
			if v, err := c.Verifier(cfg); err != nil {
				t.Fatal(err)
			} else if v != nil {
				st.Verifier = v
			}
			p := pipeline.New(c.Facts, st, pipeline.Options{})
			if isWorkload(c.Review.Request) {
				runWorkloadCase(t, c, p, c.Targets)
				return
			}
			viaHTTP := serveBoth(t, p, c.Review.Request)
			viaEval := runEval(t, c)
			if diff := cmp.Diff(viaHTTP, viaEval, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("HTTP handlers and tollgate eval disagree (-http +eval):\n%s", diff)
			}
			mutated := viaHTTP.Object != nil && !equalJSON(t, c.Review.Request.Object.Raw, viaHTTP.Object)
			if *update {
				writeGolden(t, c, viaHTTP, mutated)
				return
			}
			if c.Want == nil {
				t.Fatalf("missing %s: run go test ./test/ -run TestFixtures -update", fixture.WantFile)
			}
			if diff := cmp.Diff(*c.Want, viaHTTP.Want, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", fixture.WantFile, diff)
			}
			switch {
			case mutated && c.WantObject == nil:
				t.Errorf("the Pod was mutated but %s is missing", fixture.WantObjectFile)
			case !mutated && c.WantObject != nil:
				t.Errorf("stale %s: the Pod is not mutated", fixture.WantObjectFile)
			case mutated:
				if diff := cmp.Diff(c.WantObject, viaHTTP.Object); diff != "" {
					t.Errorf("%s (-want +got):\n%s", fixture.WantObjectFile, diff)
				}
				assertIdempotent(t, p, c.Review.Request, viaHTTP.Object)
			}
		})
	}
}

// serveBoth sends the request to the mutating handler, applies its patch,
// and sends the result to the validating handler.
func serveBoth(t *testing.T, p *pipeline.Pipeline, req *admissionv1.AdmissionRequest) result {
	t.Helper()
	mresp := serve(t, &admission.Webhook{Handler: &webhook.PodMutator{Pipeline: p}}, req)
	if mresp.Result != nil && mresp.Result.Code >= 400 && !mresp.Allowed {
		t.Fatalf("mutating webhook errored: %d %s", mresp.Result.Code, mresp.Result.Message)
	}
	final := req.DeepCopy()
	if len(mresp.Patch) > 0 {
		patch, err := jsonpatchv5.DecodePatch(mresp.Patch)
		if err != nil {
			t.Fatalf("decode patch: %v", err)
		}
		if final.Object.Raw, err = patch.Apply(req.Object.Raw); err != nil {
			t.Fatalf("apply patch to the request object: %v", err)
		}
	}
	vresp := serve(t, &admission.Webhook{Handler: &webhook.PodValidator{Pipeline: p}}, final)
	if !vresp.Allowed && (vresp.Result == nil || vresp.Result.Code != http.StatusForbidden) {
		t.Fatalf("validating webhook: denial without 403: %+v", vresp.Result)
	}
	out := result{Want: fixture.Want{Allowed: vresp.Allowed, Reasons: webhook.Reasons(vresp), Warnings: distinct(mresp.Warnings, vresp.Warnings)}}
	if len(final.Object.Raw) > 0 {
		out.Object = &corev1.Pod{}
		if err := json.Unmarshal(final.Object.Raw, out.Object); err != nil {
			t.Fatalf("decode patched object: %v", err)
		}
	}
	return out
}

// distinct lists the warnings of both answers in order, each once, as
// pipeline.Review does.
func distinct(a, b []string) []string {
	var out []string
	for _, w := range append(slices.Clip(a), b...) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func serve(t *testing.T, h http.Handler, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metaReview(), Request: req,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	hr := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, hr)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body.String())
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &review); err != nil || review.Response == nil {
		t.Fatalf("decode response %q: %v", rec.Body.String(), err)
	}
	if review.Response.UID != req.UID {
		t.Fatalf("response UID %q, request UID %q", review.Response.UID, req.UID)
	}
	return review.Response
}

// runEval runs `tollgate eval -o json` on the case's files.
func runEval(t *testing.T, c *fixture.Case) result {
	t.Helper()
	stdout, stderr, code := evalJSON(c)
	var out pipeline.Outcome
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("tollgate eval exit %d, stderr %q: decode output: %v", code, stderr.String(), err)
	}
	if want := map[bool]int{true: cli.ExitOK, false: cli.ExitDenied}[out.Allowed]; code != want {
		t.Fatalf("tollgate eval: allowed=%v but exit code %d (stderr %q)", out.Allowed, code, stderr.String())
	}
	return result{Want: fixture.Want{Allowed: out.Allowed, Reasons: out.Reasons, Warnings: out.Warnings}, Object: out.Object}
}

// assertIdempotent sends the mutated Pod through the mutating handler again
// (as reinvocationPolicy IfNeeded does) and requires no further patch.
func assertIdempotent(t *testing.T, p *pipeline.Pipeline, req *admissionv1.AdmissionRequest, mutated *corev1.Pod) {
	t.Helper()
	again := req.DeepCopy()
	raw, err := json.Marshal(mutated)
	if err != nil {
		t.Fatal(err)
	}
	again.Object = runtime.RawExtension{Raw: raw}
	resp := serve(t, &admission.Webhook{Handler: &webhook.PodMutator{Pipeline: p}}, again)
	if len(resp.Patch) > 0 {
		t.Errorf("not idempotent: a second pass patches %s", resp.Patch)
	}
}

func writeGolden(t *testing.T, c *fixture.Case, got result, mutated bool) {
	t.Helper()
	write := func(name string, v any) {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c.Path(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fixture.WantFile, got.Want)
	if mutated {
		write(fixture.WantObjectFile, got.Object)
	} else if err := os.Remove(c.Path(fixture.WantObjectFile)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// equalJSON reports whether raw and pod are the same object.
func equalJSON(t *testing.T, raw []byte, pod *corev1.Pod) bool {
	t.Helper()
	var before corev1.Pod
	if err := json.Unmarshal(raw, &before); err != nil {
		t.Fatal(err)
	}
	return cmp.Equal(&before, pod)
}

// isWorkload reports a case for /validate-workloads: any request whose kind
// is not a core Pod.
func isWorkload(req *admissionv1.AdmissionRequest) bool {
	return req.Kind.Group != "" || req.Kind.Kind != "Pod"
}

// runWorkloadCase sends a workload request to /validate-workloads and to
// `tollgate eval`; both must agree with each other and with want.yaml, and
// neither may change the workload.
func runWorkloadCase(t *testing.T, c *fixture.Case, p *pipeline.Pipeline, targets workload.StaticTargets) {
	t.Helper()
	req := c.Review.Request
	wp := pipeline.New(c.Facts, p.State(), pipeline.Options{Targets: targets})
	resp := serve(t, &admission.Webhook{Handler: &webhook.WorkloadValidator{Pipeline: wp}}, req)
	if !resp.Allowed && (resp.Result == nil || resp.Result.Code != http.StatusForbidden) {
		t.Fatalf("workload webhook: denial without 403: %+v", resp.Result)
	}
	if len(resp.Patch) > 0 {
		t.Errorf("workload webhook returned a patch: %s", resp.Patch)
	}
	viaHTTP := fixture.Want{Allowed: resp.Allowed, Reasons: webhook.Reasons(resp), Warnings: resp.Warnings}
	viaEval := runWorkloadEval(t, c)
	if diff := cmp.Diff(viaHTTP, viaEval, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("HTTP handler and tollgate eval disagree (-http +eval):\n%s", diff)
	}
	if *update {
		writeGolden(t, c, result{Want: viaHTTP}, false)
		return
	}
	if c.Want == nil {
		t.Fatalf("missing %s: run go test ./test/ -run TestFixtures -update", fixture.WantFile)
	}
	if diff := cmp.Diff(*c.Want, viaHTTP, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", fixture.WantFile, diff)
	}
	if c.WantObject != nil {
		t.Errorf("stale %s: workloads are never mutated", fixture.WantObjectFile)
	}
}

// runWorkloadEval runs `tollgate eval -o json` on a workload case and checks
// the output's shape: the object unchanged, an empty patch.
func runWorkloadEval(t *testing.T, c *fixture.Case) fixture.Want {
	t.Helper()
	stdout, stderr, code := evalJSON(c)
	var out struct {
		Allowed  bool             `json:"allowed"`
		Object   json.RawMessage  `json:"object"`
		Patch    []any            `json:"patch"`
		Reasons  []verdict.Reason `json:"reasons"`
		Warnings []string         `json:"warnings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("tollgate eval exit %d, stderr %q: decode output: %v", code, stderr.String(), err)
	}
	if want := map[bool]int{true: cli.ExitOK, false: cli.ExitDenied}[out.Allowed]; code != want {
		t.Fatalf("tollgate eval: allowed=%v but exit code %d (stderr %q)", out.Allowed, code, stderr.String())
	}
	if out.Patch == nil || len(out.Patch) > 0 {
		t.Errorf("tollgate eval: patch %v, want []", out.Patch)
	}
	if raw := c.Review.Request.Object.Raw; len(raw) > 0 && !jsonEqual(t, raw, out.Object) {
		t.Errorf("tollgate eval: object is not the request's workload unchanged:\n%s", out.Object)
	}
	return fixture.Want{Allowed: out.Allowed, Reasons: out.Reasons, Warnings: out.Warnings}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false
	}
	return cmp.Equal(x, y)
}

// TestWorkloadHandlerRejectsBadInput: malformed workload reviews get a 400
// that says what is wrong, never a patch or a panic.
func TestWorkloadHandlerRejectsBadInput(t *testing.T) {
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	facts := fixtureFacts(t)
	p := pipeline.New(facts, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	h := &admission.Webhook{Handler: &webhook.WorkloadValidator{Pipeline: p}}
	const deploy = `"kind":{"group":"apps","version":"v1","kind":"Deployment"},"resource":{"group":"apps","version":"v1","resource":"deployments"}`
	tests := map[string]struct {
		req, wantMsg string
	}{
		"a Pod":                 {`{"uid":"1","kind":{"version":"v1","kind":"Pod"},"namespace":"a","operation":"CREATE","object":{}}`, "not a supported workload kind"},
		"no namespace":          {`{"uid":"1",` + deploy + `,"operation":"CREATE","object":{}}`, "no namespace"},
		"empty object":          {`{"uid":"1",` + deploy + `,"namespace":"a","operation":"CREATE"}`, "request.object: object is empty"},
		"update without old":    {`{"uid":"1",` + deploy + `,"namespace":"a","operation":"UPDATE","object":{"spec":{}}}`, "request.oldObject: object is empty"},
		"replicas not a number": {`{"uid":"1",` + deploy + `,"namespace":"a","operation":"CREATE","object":{"spec":{"replicas":"3"}}}`, "decode Deployment"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var req admissionv1.AdmissionRequest
			if err := json.Unmarshal([]byte(tc.req), &req); err != nil {
				t.Fatal(err)
			}
			resp := serve(t, h, &req)
			checkMalfunction(t, "validate-workloads", resp, tc.wantMsg)
			if len(resp.Patch) > 0 {
				t.Errorf("patch on a bad request: %s", resp.Patch)
			}
		})
	}
}

// TestEvalWorkloadManifest: `tollgate eval -f deployment.yaml` takes a plain
// manifest (as a CREATE), prints the warning in text, and exits 1 when a
// deny mode refuses it.
func TestEvalWorkloadManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string { return writeFile(t, dir, name, data) }
	manifest := write("deploy.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: registry.example.com/app:1.0, resources: {requests: {cpu: "2"}}}
`)
	clusterFile := write("cluster.yaml", `apiVersion: v1
kind: ResourceQuota
metadata: {name: team-a, namespace: team-a}
status:
  hard: {requests.cpu: "8"}
  used: {requests.cpu: "4"}
`)
	deny := write("config.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nworkloads: {quota: deny}\n")
	const msg = `deployment "web" needs requests.cpu 6 across 3 replicas (2 each); quota "team-a" allows 4 more: 2 replicas fit, 1 will fail to start`
	tests := map[string]struct {
		args     []string
		wantCode int
		wantOut  []string
	}{
		"warns in text": {
			args:     []string{"-n", "team-a"},
			wantCode: cli.ExitOK,
			wantOut:  []string{`ALLOWED create deployment "web" in namespace "team-a"`, "warning: quota.exceeded: " + msg},
		},
		"denied in deny mode": {
			args:     []string{"-n", "team-a", "--config", deny},
			wantCode: cli.ExitDenied,
			wantOut:  []string{`DENIED create deployment "web"`, "denied [quota.exceeded] " + msg, "at spec.replicas"},
		},
		"json shape": {
			args:     []string{"-n", "team-a", "-o", "json"},
			wantCode: cli.ExitOK,
			wantOut:  []string{`"allowed": true`, `"kind": "Deployment"`, `"patch": []`, `"reasons": []`, "needs requests.cpu 6 across 3 replicas"},
		},
		"no namespace": {
			wantCode: cli.ExitBadInput,
			wantOut:  []string{"pass -n NAMESPACE"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"eval", "-f", manifest, "--cluster", clusterFile}, tc.args...)
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), args, cli.IO{In: bytes.NewReader(nil), Out: &stdout, Err: &stderr})
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			all := stdout.String() + stderr.String()
			for _, w := range tc.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output does not contain %q:\n%s", w, all)
				}
			}
		})
	}
}

// fixtureFacts is a namespace "a" with nothing in it.
func fixtureFacts(t *testing.T) *cluster.Static {
	t.Helper()
	s := cluster.NewStatic()
	if err := s.AddYAML([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"), "facts"); err != nil {
		t.Fatal(err)
	}
	return s
}

// evalJSON runs `tollgate eval -o json` on the case's files, as a user would.
func evalJSON(c *fixture.Case) (stdout, stderr *bytes.Buffer, code int) {
	args := []string{"eval", "-f", c.Path(fixture.RequestFile), "-o", "json"}
	if c.Has(fixture.ClusterFile) {
		args = append(args, "--cluster", c.Path(fixture.ClusterFile))
	}
	if c.Has(fixture.ConfigFile) {
		args = append(args, "--config", c.Path(fixture.ConfigFile))
	}
	if reg, ca := c.RegistryArg(); reg != "" {
		args = append(args, "--registry", reg)
		if ca != "" {
			args = append(args, "--registry-ca", ca)
		}
	}
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	code = cli.Run(context.Background(), args, cli.IO{In: bytes.NewReader(nil), Out: stdout, Err: stderr})
	return stdout, stderr, code
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
