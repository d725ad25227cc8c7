package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
)

func TestSharedRules(t *testing.T) {
	lib := `package tollgate.lib.h

object_name := input.object.metadata.name
strict := input.parameters.strict
via_strict if strict
whole := input
dynamic := input[k] if some k in ["object"]
old_image := object.get(input, ["oldObject", "spec"], {})
params_get := object.get(input, ["parameters", "x"], 0)
params_key := object.get(input, "parameters", {})
alias_leaks if {
	x := input
	object.get(x, ["object"], 0) == 0
	x.parameters
}
now := time.now_ns()
any_policy := data.tollgate[_].deny
loud(s) := upper(s)
with_params := x if {
	x := object_name with input.parameters as {}
}
`
	e := engineFrom(t, map[string]string{
		"lib.rego": lib,
		"p.rego":   "package tollgate.p\nimport data.tollgate.lib.h\ndeny contains h.object_name\n",
		"q.rego":   "package tollgate.q\nimport data.tollgate.lib.h\ndeny contains x if { h.strict; x := \"strict\" }\n",
	})
	want := map[string]bool{
		"object_name": true,
		"strict":      false,
		"via_strict":  false,
		"whole":       false,
		"dynamic":     false,
		"old_image":   true,
		"params_get":  false,
		"params_key":  false,
		"alias_leaks": false,
		"now":         false,
		"any_policy":  false, // data.tollgate.q.deny reads parameters
		"loud":        true,
		"with_params": false, // the with target is input.parameters: the safe side
	}
	got := map[string]bool{}
	for name := range want {
		got[name] = e.shared.shared(ast.MustParseRef("data.tollgate.lib.h." + name))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shared (-want +got):\n%s", diff)
	}
	for ref, want := range map[string]bool{
		"data.tollgate.p.deny":            true,
		"data.tollgate.q.deny":            false,
		"data.tollgate.lib.h.loud[\"a\"]": true,
		"data.tollgate.lib":               false, // contains per-policy rules
		"data.tollgate":                   false,
		"data":                            false,
		"input.object":                    false,
	} {
		if got := e.shared.shared(ast.MustParseRef(ref)); got != want {
			t.Errorf("shared(%s) = %v, want %v", ref, got, want)
		}
	}
}

// Helpers that read input.parameters must see each policy's own
// parameters, and helpers that do not are shared without changing results.
func TestEvaluateSharedHelpersSeeOwnParameters(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"lib.rego": `package tollgate.lib.h
names contains c.name if some c in input.object.spec.containers
label := sprintf("%s/%v", [input.object.metadata.name, object.get(input.parameters, "tag", "none")])
tagged(name) := sprintf("%s:%v", [name, object.get(input.parameters, "tag", "none")])
`,
		"a.rego": "package tollgate.a\nimport data.tollgate.lib.h\nwarn contains sprintf(\"%s %s %s\", [n, h.label, h.tagged(n)]) if some n in h.names\n",
		"b.rego": "package tollgate.b\nimport data.tollgate.lib.h\nwarn contains sprintf(\"%s %s %s\", [n, h.label, h.tagged(n)]) if some n in h.names\n",
		"c.rego": "package tollgate.c\nimport data.tollgate.lib.h\nwarn contains sprintf(\"%s %s %s\", [n, h.label, h.tagged(n)]) if some n in h.names\n",
	})
	s := Settings{Rules: map[string]Rule{
		"a": {Parameters: map[string]any{"tag": "one"}},
		"b": {Parameters: map[string]any{"tag": "two"}},
	}}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"), container("side", "nginx:1"))), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[a] app web/one app:one", "[a] side web/one side:one",
		"[b] app web/two app:two", "[b] side web/two side:two",
		"[c] app web/none app:none", "[c] side web/none side:none",
	}
	if diff := cmp.Diff(want, v.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// A shared helper that fails in one policy fails in every policy, as it
// would if each policy evaluated it afresh.
func TestEvaluateSharedHelperConflictFailsEveryPolicy(t *testing.T) {
	files := map[string]string{"lib.rego": `package tollgate.lib.h
v := 1 if input.object.metadata.name
v := 2 if input.object.metadata.namespace
`}
	for _, name := range []string{"a", "b", "c"} {
		files[name+".rego"] = fmt.Sprintf("package tollgate.%s\nimport data.tollgate.lib.h\ndeny contains \"v\" if h.v > 0\n", name)
	}
	v, err := engineFrom(t, files).Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Reasons) != 3 {
		t.Fatalf("reasons = %+v, want one policy.error per policy", v.Reasons)
	}
	for _, r := range v.Reasons {
		if r.Code != CodeError || !strings.Contains(r.Message, "eval_conflict_error") {
			t.Errorf("reason = %+v, want a conflict error", r)
		}
	}
}
