package config

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/pkg/quota"
)

// YAML 1.1 words that read as booleans there are strings here, so the
// config means what it says.
func TestYAML12WordsAreStrings(t *testing.T) {
	c, err := Parse([]byte(`apiVersion: tollgate.dev/v1alpha1
kind: Config
quota: {mode: off, warnThreshold: 080}
policies:
  settings:
    disallowed-tags:
      action: off
      parameters: {tags: [no, yes, on]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Quota.Mode != quota.ModeOff {
		t.Errorf("quota.mode = %q, want off", c.Quota.Mode)
	}
	if c.Quota.WarnThreshold != 80 {
		t.Errorf("warnThreshold = %d, want 80 (YAML 1.2 decimal, not octal)", c.Quota.WarnThreshold)
	}
	r := c.Policies.Rules["disallowed-tags"]
	if r.Action != "off" {
		t.Errorf("action = %q, want off", r.Action)
	}
	if got := r.Parameters["tags"]; len(got.([]any)) != 3 || got.([]any)[0] != "no" {
		t.Errorf("parameters.tags = %#v, want the strings no, yes, on", got)
	}
}

func TestYAMLRejects(t *testing.T) {
	tests := map[string]struct{ file, wantErr string }{
		"duplicate key":  {"apiVersion: tollgate.dev/v1alpha1\nkind: Config\nkind: Config\n", "already defined"},
		"boolean mode":   {"apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: false}\n", "quota.mode"},
		"non-string key": {"apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {[a]: b}\n", "mapping key must be a string"},
		"alias bomb": {`a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
`, "expands to more than"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Parse error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
