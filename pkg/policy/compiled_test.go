package policy

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCompiledSettings: settings compiled once answer as Evaluate does on
// the same settings, and a setting that cannot be used fails only its
// policy, in the order it always did (exempt namespaces first).
func TestCompiledSettings(t *testing.T) {
	e := engineFrom(t, map[string]string{"p.rego": `package tollgate.param

deny contains {"msg": sprintf("x=%v", [object.get(input.parameters, "x", "none")]), "path": "spec.containers[0].image"}
`})
	in := create(pod(container("app", "nginx:1")))
	in.Request.Namespace = "team-a"
	in.Namespace = namespace("team-a", map[string]string{"tier": "dev"})
	devNS := &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "dev"}}
	badNS := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Bogus"}}}
	tests := map[string]struct {
		rule                   Rule
		mode                   string
		wantCodes, wantWarning []string
	}{
		"default action":                 {wantCodes: []string{"policy.param"}},
		"parameters":                     {rule: Rule{Parameters: map[string]any{"x": 1}}, wantCodes: []string{"policy.param"}, wantWarning: nil},
		"warn":                           {rule: Rule{Action: ActionWarn, Parameters: map[string]any{"x": "y"}}, wantWarning: []string{"[param] x=y"}},
		"off":                            {rule: Rule{Action: ActionOff, ExemptImages: []string{"[bad"}}},
		"unknown action":                 {rule: Rule{Action: "block"}, wantCodes: []string{CodeError}},
		"unknown action, open":           {rule: Rule{Action: "block"}, mode: FailureOpen},
		"exempt namespace":               {rule: Rule{ExemptNamespaces: devNS}},
		"bad selector":                   {rule: Rule{ExemptNamespaces: badNS}, wantCodes: []string{CodeError}},
		"bad image pattern, exempt ns":   {rule: Rule{ExemptNamespaces: devNS, ExemptImages: []string{"[bad"}}},
		"bad image pattern":              {rule: Rule{ExemptImages: []string{"[bad"}}, wantCodes: []string{CodeError}},
		"exempt image":                   {rule: Rule{ExemptImages: []string{"nginx"}}},
		"parameters that do not convert": {rule: Rule{Parameters: map[string]any{"x": make(chan int)}}, wantCodes: []string{CodeError}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := Settings{FailureMode: tc.mode, Rules: map[string]Rule{"param": tc.rule}}
			compiled := e.Compile(s)
			got, err := e.EvaluateCompiled(t.Context(), in, compiled)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, r := range got.Reasons {
				codes = append(codes, r.Code)
			}
			if !slices.Equal(codes, tc.wantCodes) {
				t.Errorf("codes %q, want %q (reasons %+v)", codes, tc.wantCodes, got.Reasons)
			}
			if tc.mode != FailureOpen && !slices.Equal(got.WarningMessages(), tc.wantWarning) {
				t.Errorf("warnings %q, want %q", got.WarningMessages(), tc.wantWarning)
			}
			if tc.mode == FailureOpen && len(got.WarningMessages()) != 1 {
				t.Errorf("failure mode open: want one warning, got %q", got.WarningMessages())
			}
			again, err := e.Evaluate(t.Context(), in, s)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again.WarningMessages(), got.WarningMessages()) || len(again.Reasons) != len(got.Reasons) {
				t.Errorf("Evaluate %+v, EvaluateCompiled %+v", again, got)
			}
		})
	}
}

// TestCompiledOnce: the parameters policies see are those of the config
// when it was compiled; a later change of the map (nothing does this, but
// per-request conversion would show it) does not reach a request.
func TestCompiledOnce(t *testing.T) {
	e := engineFrom(t, map[string]string{"p.rego": `package tollgate.param

warn contains sprintf("x=%v", [input.parameters.x])
`})
	params := map[string]any{"x": "loaded"}
	compiled := e.Compile(Settings{Rules: map[string]Rule{"param": {Parameters: params}}})
	params["x"] = "changed"
	got, err := e.EvaluateCompiled(t.Context(), create(pod(container("app", "nginx:1"))), compiled)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[param] x=loaded"}; !slices.Equal(got.WarningMessages(), want) {
		t.Errorf("warnings %q, want %q", got.WarningMessages(), want)
	}
}
