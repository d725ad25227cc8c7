package policy

import (
	"slices"
	"strings"
	"testing"
)

// TestShippedPoliciesShareHelpers: the shipped helpers keep to what
// sharing needs, so a request computes them once for all policies.
func TestShippedPoliciesShareHelpers(t *testing.T) {
	if e := shipped(t); e.notShared != nil {
		t.Fatalf("shipped policies cannot share helper values: %v", e.notShared)
	}
}

func TestShareableRefusesWhatWouldLeak(t *testing.T) {
	tests := map[string]struct {
		src, want string // want: "" shareable, else part of the reason
	}{
		"helper reads input.object": {`package tollgate.lib.h
x := input.object.metadata.name`, ""},
		"helper reads the parameters": {`package tollgate.lib.h
x := input.parameters.limit`, "helper package reads input.parameters.limit"},
		"helper reads input whole": {`package tollgate.lib.h
x := object.get(input, ["parameters", "limit"], 0)`, "helper package reads input,"},
		"helper reads a policy": {`package tollgate.lib.h
x := data.tollgate.p.deny`, "reads another policy's rules"},
		"policy reads its own rules and parameters": {`package tollgate.p
limit := input.parameters.limit
deny contains "x" if count(input.object.spec.containers) > limit`, ""},
		"policy reads another policy": {`package tollgate.p
deny contains m if some m in data.tollgate.q.deny`, "reads another policy's rules"},
		"policy reads a package named like its prefix": {`package tollgate.p
deny contains m if some m in data.tollgate.pq.deny`, "reads another policy's rules"},
		"helper outside tollgate reads the parameters": {`package util
x := input.parameters.limit`, "helper package reads input.parameters.limit"},
		"helper reads every policy at once": {`package util
x := data.tollgate`, "reads data.tollgate whole"},
		"helper picks a policy at evaluation": {`package util
x := data.tollgate[input.object.metadata.name].deny`, "a policy chosen at evaluation"},
		"policy reads its own nested package": {`package tollgate.p
import data.tollgate.p.sub
deny contains "x" if sub.x`, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := engineFrom(t, map[string]string{"a.rego": tc.src,
				"q.rego":  "package tollgate.q\ndeny contains \"q\" if false",
				"pq.rego": "package tollgate.pq\ndeny contains \"pq\" if false"})
			switch {
			case tc.want == "" && e.notShared != nil:
				t.Errorf("not shared: %v", e.notShared)
			case tc.want != "" && (e.notShared == nil || !strings.Contains(e.notShared.Error(), tc.want)):
				t.Errorf("shared=%v, want refused with %q", e.notShared, tc.want)
			}
		})
	}
}

// TestUnshareableHelperSeesEachPolicysParameters: with a helper that reads
// the parameters, each policy still sees its own.
func TestUnshareableHelperSeesEachPolicysParameters(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"lib.rego": "package tollgate.lib.h\nlimit := input.parameters.limit",
		"a.rego":   "package tollgate.a\nimport data.tollgate.lib.h\ndeny contains sprintf(\"limit %v\", [h.limit])",
		"b.rego":   "package tollgate.b\nimport data.tollgate.lib.h\ndeny contains sprintf(\"limit %v\", [h.limit])",
	})
	s := Settings{Rules: map[string]Rule{"a": {Parameters: map[string]any{"limit": 1}}, "b": {Parameters: map[string]any{"limit": 2}}}}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), s)
	if err != nil {
		t.Fatal(err)
	}
	got := v.Message()
	if !strings.Contains(got, "[a] limit 1") || !strings.Contains(got, "[b] limit 2") {
		t.Errorf("verdict %q, want each policy's own limit", got)
	}
}

// TestFailedHelperIsNotReadBack: a helper whose evaluation fails (two
// values) fails every policy that reads it, never only the first while the
// next reads a half-made value.
func TestFailedHelperIsNotReadBack(t *testing.T) {
	e := engineFrom(t, map[string]string{
		"lib.rego": "package tollgate.lib.h\nv := 1 if input.object.metadata.name\nv := 2 if input.object.metadata.name",
		"a.rego":   "package tollgate.a\nimport data.tollgate.lib.h\ndeny contains \"a saw 1\" if h.v == 1",
		"b.rego":   "package tollgate.b\nimport data.tollgate.lib.h\ndeny contains \"b saw 1\" if h.v == 1",
	})
	if e.notShared != nil {
		t.Fatalf("want sharing on: %v", e.notShared)
	}
	v, err := e.Evaluate(t.Context(), create(pod(container("app", "nginx:1"))), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range v.Reasons {
		codes = append(codes, r.Code)
	}
	if !slices.Equal(codes, []string{CodeError, CodeError}) {
		t.Errorf("reasons %v, want both policies failed: %q", codes, v.Message())
	}
}
