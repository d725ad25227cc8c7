package test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/cli"
	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

// TestHandlersRejectBadInput sends malformed reviews to both handlers: each
// gets an error response with a clear message and no patch, never a panic.
func TestHandlersRejectBadInput(t *testing.T) {
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	p := pipeline.New(cluster.NewStatic(), &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	handlers := map[string]http.Handler{
		"mutate":   &admission.Webhook{Handler: &webhook.PodMutator{Pipeline: p}},
		"validate": &admission.Webhook{Handler: &webhook.PodValidator{Pipeline: p}},
	}
	review := func(req string) string {
		return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":` + req + `}`
	}
	const podKind = `"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"}`
	tests := map[string]struct {
		body     string
		wantCode int32
		wantMsg  string
	}{
		"malformed JSON": {
			body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{`, wantCode: 400, wantMsg: "json parse error",
		},
		"wrong kind": {
			body:     review(`{"uid":"1","kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"a","operation":"CREATE","object":{}}`),
			wantCode: 400, wantMsg: "not a Pod",
		},
		"missing namespace": {
			body:     review(`{"uid":"1",` + podKind + `,"operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}}`),
			wantCode: 400, wantMsg: "no namespace",
		},
		"object is not a pod": {
			body:     review(`{"uid":"1",` + podKind + `,"namespace":"a","operation":"CREATE","object":{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}}`),
			wantCode: 400, wantMsg: `kind "Secret"`,
		},
		"invalid quantity in the pod": {
			body:     review(`{"uid":"1",` + podKind + `,"namespace":"a","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"a","image":"a","resources":{"limits":{"cpu":"lots"}}}]}}}`),
			wantCode: 400, wantMsg: "quantities must match",
		},
		"empty object on create": {
			body:     review(`{"uid":"1",` + podKind + `,"namespace":"a","operation":"CREATE"}`),
			wantCode: 400, wantMsg: "request.object is empty",
		},
		"update without old object": {
			body:     review(`{"uid":"1",` + podKind + `,"namespace":"a","operation":"UPDATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}}`),
			wantCode: 400, wantMsg: "request.oldObject is empty",
		},
		"oversized body": {
			body:     review(`{"uid":"1",` + podKind + `,"namespace":"a","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","annotations":{"big":"` + strings.Repeat("x", 8<<20) + `"}}}}`),
			wantCode: 413, wantMsg: "too large",
		},
	}
	for name, tc := range tests {
		for hook, h := range handlers {
			t.Run(name+"/"+hook, func(t *testing.T) {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, req)
				var out admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
					t.Fatalf("HTTP %d, undecodable response %q: %v", rec.Code, rec.Body.String(), err)
				}
				r := out.Response
				if len(r.Patch) > 0 {
					t.Fatalf("bad input got a patch %q", r.Patch)
				}
				if tc.wantCode != http.StatusBadRequest || tc.wantMsg == "json parse error" {
					// Refused by controller-runtime before Tollgate's handler runs.
					if r.Allowed || r.Result == nil || r.Result.Code != tc.wantCode || !strings.Contains(r.Result.Message, tc.wantMsg) {
						t.Fatalf("got allowed=%v %+v, want code %d and a message containing %q", r.Allowed, r.Result, tc.wantCode, tc.wantMsg)
					}
					return
				}
				checkMalfunction(t, hook, r, tc.wantMsg)
			})
		}
	}
}

// TestEvalExitCodes checks the eval contract: 0 allowed, 1 denied, 2 bad
// input with a message naming the file and the problem.
func TestEvalExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string { return writeFile(t, dir, name, content) }
	pod := write("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app, image: nginx:1.27}]\n")
	latest := write("latest.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\nspec:\n  containers: [{name: app, image: nginx}]\n")
	badQty := write("bad-lr.yaml", "apiVersion: v1\nkind: LimitRange\nmetadata: {name: lr, namespace: a}\nspec:\n  limits: [{type: Container, default: {cpu: lots}}]\n")
	badCfg := write("bad-config.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n")
	unknownKind := write("secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n")
	tests := map[string]struct {
		args     []string
		stdin    string
		wantCode int
		wantErr  string
		wantOut  string
	}{
		"allowed":                          {args: []string{"-f", pod, "-n", "a"}, wantCode: 0, wantOut: `ALLOWED create pod "web" in namespace "a"`},
		"denied by shipped tags":           {args: []string{"-f", latest}, wantCode: 1, wantOut: "[policy.disallowed-tags]"},
		"stdin":                            {args: []string{"-f", "-", "-n", "a"}, stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: s}\nspec:\n  containers: [{name: a, image: nginx:1.27}]\n", wantCode: 0, wantOut: "ALLOWED"},
		"no namespace":                     {args: []string{"-f", pod}, wantCode: 2, wantErr: "pass -n NAMESPACE"},
		"namespace conflict":               {args: []string{"-f", latest, "-n", "b"}, wantCode: 2, wantErr: `differs from the Pod's metadata.namespace "a"`},
		"missing file":                     {args: []string{"-f", filepath.Join(dir, "nope.yaml"), "-n", "a"}, wantCode: 2, wantErr: "nope.yaml: no such file"},
		"not a pod":                        {args: []string{"-f", unknownKind, "-n", "a"}, wantCode: 2, wantErr: `secret.yaml: kind "Secret"`},
		"invalid quantity in a LimitRange": {args: []string{"-f", pod, "-n", "a", "--cluster", badQty}, wantCode: 2, wantErr: "bad-lr.yaml: document 1"},
		"invalid config":                   {args: []string{"-f", pod, "-n", "a", "--config", badCfg}, wantCode: 2, wantErr: `quota.mode: "maybe" is not one of deny, warn, off`},
		"unknown output":                   {args: []string{"-f", pod, "-n", "a", "-o", "xml"}, wantCode: 2, wantErr: `-o "xml"`},
		"garbage input":                    {args: []string{"-f", "-", "-n", "a"}, stdin: "{{{{", wantCode: 2, wantErr: "standard input: decode"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), append([]string{"eval"}, tc.args...), cli.IO{In: strings.NewReader(tc.stdin), Out: &stdout, Err: &stderr})
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.wantCode, stdout.String(), stderr.String())
			}
			switch {
			case tc.wantErr == "" && stderr.Len() > 0:
				t.Errorf("stderr %q, want nothing", stderr.String())
			case !strings.Contains(stderr.String(), tc.wantErr):
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.wantErr)
			}
			if tc.wantOut != "" && !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.wantOut)
			}
			if tc.wantCode == 2 && stdout.Len() > 0 {
				t.Errorf("bad input printed a result: %q", stdout.String())
			}
		})
	}
}

// checkMalfunction: a request Tollgate cannot read is a malfunction, never
// an error answer (allowed: false is a rejection whatever failurePolicy
// says): the mutating and workload webhooks admit it unchanged with a
// warning; the Pod validating webhook (failure mode closed) denies it with
// a message naming the fault.
func checkMalfunction(t *testing.T, hook string, r *admissionv1.AdmissionResponse, wantMsg string) {
	t.Helper()
	if hook != "validate" {
		if !r.Allowed || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], wantMsg) || !strings.Contains(r.Warnings[0], "let it through unchanged") {
			t.Fatalf("%s: allowed=%v warnings %q, want admitted with a warning containing %q", hook, r.Allowed, r.Warnings, wantMsg)
		}
		return
	}
	if r.Allowed || r.Result == nil || r.Result.Code != http.StatusForbidden || !strings.Contains(r.Result.Message, wantMsg) ||
		len(webhook.Reasons(r)) != 1 || webhook.Reasons(r)[0].Code != webhook.CodeMalfunction {
		t.Fatalf("validate: allowed=%v %+v, want a 403 %s naming %q", r.Allowed, r.Result, webhook.CodeMalfunction, wantMsg)
	}
}
