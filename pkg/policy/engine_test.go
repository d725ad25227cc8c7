package policy

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/policies"
)

func TestNewErrors(t *testing.T) {
	tests := map[string]struct {
		files   map[string]string
		wantErr []string
	}{
		"syntax error names file and line": {
			files:   map[string]string{"dir/broken.rego": "package tollgate.broken\n\ndeny contains msg if {\n\tmsg := \n}\n"},
			wantErr: []string{"dir/broken.rego:5: rego_parse_error"},
		},
		"type error names file and line": {
			files:   map[string]string{"typed.rego": "package tollgate.typed\n\ndeny contains msg if {\n\tmsg := concat(\",\", 3)\n}\n"},
			wantErr: []string{"typed.rego:4: rego_type_error"},
		},
		"rego v0 syntax is refused": {
			files:   map[string]string{"old.rego": "package tollgate.old\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n"},
			wantErr: []string{"old.rego:3: rego_parse_error"},
		},
		"http.send is not available": {
			files:   map[string]string{"net.rego": "package tollgate.net\n\ndeny contains msg if {\n\tr := http.send({\"method\": \"get\", \"url\": \"http://x\"})\n\tmsg := r.body\n}\n"},
			wantErr: []string{"net.rego:4:", "undefined function http.send"},
		},
		"opa.runtime is not available": {
			files:   map[string]string{"env.rego": "package tollgate.env\n\ndeny contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n"},
			wantErr: []string{"env.rego:4:", "undefined function opa.runtime"},
		},
		"net.lookup_ip_addr is not available": {
			files:   map[string]string{"dns.rego": "package tollgate.dns\n\ndeny contains msg if {\n\tnet.lookup_ip_addr(\"example.com\")\n\tmsg := \"x\"\n}\n"},
			wantErr: []string{"dns.rego:4:", "undefined function net.lookup_ip_addr"},
		},
		"typo in a parse result field": {
			files:   map[string]string{"typo.rego": "package tollgate.typo\n\ndeny contains msg if {\n\tsome c in input.object.spec.containers\n\tmsg := tollgate.image.parse(c.image).tagg\n}\n"},
			wantErr: []string{"typo.rego:5: rego_type_error", "tagg"},
		},
		"policy package without deny or warn": {
			files:   map[string]string{"typo.rego": "package tollgate.typo\n\ndenny contains \"x\"\n"},
			wantErr: []string{"typo.rego (package tollgate.typo): a policy package must define a deny or warn rule"},
		},
		"unknown metadata key": {
			files:   map[string]string{"meta.rego": "package tollgate.meta\n\nmetadata := {\"defaultaction\": \"off\"}\n\ndeny contains \"x\"\n"},
			wantErr: []string{"meta.rego (package tollgate.meta): metadata.defaultaction is not a known key"},
		},
		"bad default action": {
			files:   map[string]string{"meta.rego": "package tollgate.meta\n\nmetadata := {\"defaultAction\": \"block\"}\n\ndeny contains \"x\"\n"},
			wantErr: []string{`metadata.defaultAction block is not one of deny, warn, dryrun, off`},
		},
		"bad parameter schema": {
			files:   map[string]string{"meta.rego": "package tollgate.meta\n\nmetadata := {\"parameters\": {\"type\": \"no-such-type\"}}\n\ndeny contains \"x\"\n"},
			wantErr: []string{"meta.rego (package tollgate.meta): metadata.parameters is not a valid JSON schema"},
		},
		"uppercase package": {
			files:   map[string]string{"up.rego": "package tollgate.Upper\n\ndeny contains \"x\"\n"},
			wantErr: []string{"up.rego:1: package tollgate.Upper: policy packages must be lowercase"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(t.Context(), mapFS(tc.files))
			if err == nil {
				t.Fatal("New: want error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNewSkipsTestsAndHelpers(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"a.rego":          "package tollgate.some_policy\n\nimport data.tollgate.lib.x\n\ndeny contains \"x\" if x.yes\n",
		"a_test.rego":     "package tollgate.some_policy_test\n\nthis is not even rego\n",
		"lib/x.rego":      "package tollgate.lib.x\n\nyes := true\n",
		"lib/lib.rego":    "package tollgate.lib\n\nhelper := 1\n",
		"other/any.rego":  "package somewhere.else\n\ndeny contains \"ignored\"\n",
		"README.md":       "# not rego",
		"schemas/x.json":  "{}",
		"b/deep/b.rego":   "package tollgate.second\n\nwarn contains \"w\"\n",
		"b/deep/b2.rego":  "package tollgate.second\n\nwarn contains \"w2\"\n",
		"b/deep/x_test.r": "ignored",
	})
	if diff := cmp.Diff([]string{"second", "some-policy"}, e.Policies()); diff != "" {
		t.Errorf("Policies() (-want +got):\n%s", diff)
	}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[second] w", "[second] w2"}
	if diff := cmp.Diff(want, v.WarningMessages()); diff != "" || len(v.Reasons) != 1 {
		t.Errorf("verdict %+v; warnings (-want +got):\n%s", v, diff)
	}
}

// TestReloadSemantics: the server calls New again on every change and keeps
// the old engine when New fails, so New must fail cleanly with a useful error
// and a fixed tree must load again.
func TestReloadSemantics(t *testing.T) {
	files := map[string]string{"p.rego": "package tollgate.p\n\ndeny contains \"x\" if input.object.spec.nodeName == \"bad\"\n"}
	first := engineFrom(t, files)

	files["p.rego"] = "package tollgate.p\n\ndeny contains \"x\" if {\n\tinput.object.spec.nodeName == \n}\n"
	if _, err := New(t.Context(), mapFS(files)); err == nil || !strings.Contains(err.Error(), "p.rego:5: rego_parse_error") {
		t.Fatalf("New on broken file: err %v, want p.rego:5 parse error", err)
	}
	// The old engine is untouched and still works.
	if v, err := first.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{}); err != nil || !v.Allowed() {
		t.Errorf("old engine after failed reload: %+v, %v", v, err)
	}
	files["p.rego"] = "package tollgate.p\n\ndeny contains \"now always\"\n"
	second := engineFrom(t, files)
	v, _ := second.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
	if v.Allowed() {
		t.Error("reloaded engine does not apply the new policy")
	}
}

func TestNewTwoSources(t *testing.T) {
	user := mapFS(map[string]string{
		"allowed_registries.rego": "package tollgate.mine\n\ndeny contains \"m\"\n",
		"broken_in_time.rego":     "package tollgate.late\n\ndeny contains x if {\n\tx := 1 + \"a\"\n}\n",
	})
	_, err := New(t.Context(), policies.FS, user)
	if err == nil || !strings.Contains(err.Error(), "broken_in_time.rego:4") {
		t.Errorf("New: error %v, want one naming broken_in_time.rego:4", err)
	}
	delete(user, "broken_in_time.rego")
	e, err := New(t.Context(), policies.FS, user)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range e.Describe() {
		if p.Name == "mine" {
			files = p.Files
		}
	}
	if diff := cmp.Diff([]string{"source2/allowed_registries.rego"}, files); diff != "" {
		t.Errorf("files of policy mine (-want +got):\n%s", diff)
	}
}

func TestLaterSourceOverridesPackage(t *testing.T) {
	override := mapFS(map[string]string{
		"mine/registries.rego": "package tollgate.allowed_registries\n\ndeny contains \"overridden\"\n",
	})
	e, err := New(t.Context(), policies.FS, override)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"allowed-registries", "disallowed-tags", "pull-policy-always", "require-attestation", "require-digest", "require-signature"}
	if diff := cmp.Diff(want, e.Policies()); diff != "" {
		t.Errorf("Policies() (-want +got):\n%s", diff)
	}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range v.Reasons {
		msgs = append(msgs, r.Message)
	}
	wantMsgs := []string{
		"[allowed-registries] overridden",
		`[disallowed-tags] container "app" image "nginx" uses tag "latest" (implicit: no tag given), which is not allowed (disallowed tags: latest); pin a version or a digest`,
	}
	if diff := cmp.Diff(wantMsgs, msgs); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}

	// A full copy of the shipped set (e.g. `tollgate test policies/`) replaces it cleanly.
	if _, err := New(t.Context(), policies.FS, policies.FS); err != nil {
		t.Errorf("New(shipped, copy of shipped): %v", err)
	}
}

func TestValidate(t *testing.T) {
	e := shipped(t)
	tests := map[string]struct {
		s       Settings
		wantErr []string
	}{
		"empty settings": {},
		"good settings": {s: Settings{FailureMode: "open", Rules: map[string]Rule{
			"allowed-registries": {Action: "warn", Parameters: map[string]any{"registries": []any{"ghcr.io/acme/*", "docker.io/library", "localhost:5000"}}, ExemptImages: []string{"registry.k8s.io/pause"}},
			"disallowed-tags":    {Parameters: map[string]any{"tags": []any{"latest", "dev"}}},
			"require-digest":     {Action: "dryrun"},
			"pull-policy-always": {Action: "off"},
		}}},
		"unknown policy": {
			s:       Settings{Rules: map[string]Rule{"allowed-registry": {}}},
			wantErr: []string{`policies.settings.allowed-registry: unknown policy "allowed-registry" (loaded: allowed-registries, disallowed-tags, pull-policy-always, require-attestation, require-digest, require-signature)`},
		},
		"bad failure mode and action": {
			s:       Settings{FailureMode: "sometimes", Rules: map[string]Rule{"require-digest": {Action: "block"}}},
			wantErr: []string{`policies.failureMode: "sometimes" is not one of closed, open`, `policies.settings.require-digest.action: "block" is not one of deny, warn, dryrun, off`},
		},
		"parameters of the wrong type": {
			s:       Settings{Rules: map[string]Rule{"disallowed-tags": {Parameters: map[string]any{"tags": "latest"}}}},
			wantErr: []string{"policies.settings.disallowed-tags.parameters: tags: Invalid type. Expected: array, given: string"},
		},
		"unknown parameter": {
			s:       Settings{Rules: map[string]Rule{"require-digest": {Parameters: map[string]any{"algorithms": []any{"sha512"}}}}},
			wantErr: []string{"policies.settings.require-digest.parameters: Additional property algorithms is not allowed"},
		},
		"bad registry pattern": {
			s:       Settings{Rules: map[string]Rule{"allowed-registries": {Parameters: map[string]any{"registries": []any{"ghcr.io/acme", "ghcr.io/acme-*"}}}}},
			wantErr: []string{`policies.settings.allowed-registries.parameters: registries[1]: image pattern "ghcr.io/acme-*": "acme-*": "*" must be a whole segment`},
		},
		"bad exempt image and selector": {
			s: Settings{Rules: map[string]Rule{"disallowed-tags": {
				ExemptImages:     []string{"*.gcr.io/x"},
				ExemptNamespaces: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Sometimes"}}},
			}}},
			wantErr: []string{"policies.settings.disallowed-tags.exemptImages[0]: image pattern", "policies.settings.disallowed-tags.exemptNamespaces:"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := e.Validate(tc.s)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate: want error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestInputSchema keeps policies/schemas/input.json and the input the
// engine builds in agreement.
func TestInputSchema(t *testing.T) {
	schema, err := policies.FS.ReadFile("schemas/input.json")
	if err != nil {
		t.Fatal(err)
	}
	p := pod(containerPull("app", "nginx:1", corev1.PullAlways), initContainer("init", "busybox:1"), ephemeral("dbg", "busybox:1"))
	in := Input{
		Request:   Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Namespace: "team-a", Name: "web", DryRun: true},
		Object:    p,
		OldObject: p,
		Namespace: namespace("team-a", nil),
	}
	in.Request.UserInfo.Username = "alice"
	in.Request.UserInfo.Groups = []string{"dev"}
	doc, err := newDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, input := range map[string]ast.Value{
		"update with everything": doc.with(ast.NewTerm(ast.NewObject())),
		"create without extras": func() ast.Value {
			d, _ := newDocument(create(pod(container("app", "nginx:1"))))
			return d.with(ast.ObjectTerm(ast.Item(ast.StringTerm("registries"), ast.ArrayTerm())))
		}(),
	} {
		rs, err := rego.New(
			rego.Query(`r := json.match_schema(input.doc, input.schema)`),
			rego.ParsedInput(ast.NewObject(
				[2]*ast.Term{ast.StringTerm("doc"), ast.NewTerm(input)},
				[2]*ast.Term{ast.StringTerm("schema"), ast.StringTerm(string(schema))},
			)),
		).Eval(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0].Bindings["r"].([]any)
		if r[0] != true {
			t.Errorf("%s: input does not match schemas/input.json: %v", name, r[1])
		}
	}
}

// TestConfigMapMountLoadsEachFileOnce: a mounted ConfigMap holds every file
// twice (the visible symlink and the hidden ..<timestamp> directory); a
// policy with a default rule would not compile if both were loaded.
func TestConfigMapMountLoadsEachFileOnce(t *testing.T) {
	src := fstest.MapFS{
		"..2026_11_22_15_00_00.1/ban.rego": {Data: []byte(bannedWithDefault)},
		"ban.rego":                         {Data: []byte(bannedWithDefault)},
	}
	e, err := New(t.Context(), src)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := e.Policies(); len(got) != 1 || got[0] != "ban-x" {
		t.Fatalf("policies %v, want [ban-x]", got)
	}
}

const bannedWithDefault = `package tollgate.ban_x

default banned := false

banned if input.object.metadata.name == "x"

deny contains "no x" if banned
`
