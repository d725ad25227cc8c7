package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig: a config that loads exits 0, one that would not exits 1
// with the message a replica logs, and bad usage exits 2.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: off}\n")
	bad := write("bad.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\nquota: {mode: maybe}\n")
	unknownPolicy := write("unknown.yaml", "apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {settings: {no-such-policy: {action: deny}}}\n")
	write("policies/broken.rego", "package tollgate.broken\ndeny contains msg if {\n")
	write("okpolicies/team.rego", "package tollgate.team_rule\ndeny contains \"no\" if { false }\n")
	tests := map[string]struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		"loads":                   {args: []string{good}, wantCode: 0, wantOut: "good.yaml: ok (policies: allowed-registries"},
		"with a policy dir":       {args: []string{good, "--policies", filepath.Join(dir, "okpolicies")}, wantCode: 0, wantOut: "team-rule"},
		"bad value":               {args: []string{bad}, wantCode: 1, wantErr: `bad.yaml: quota.mode: "maybe" is not one of deny, warn, off`},
		"unknown policy":          {args: []string{unknownPolicy}, wantCode: 1, wantErr: "no-such-policy"},
		"policy does not compile": {args: []string{good, "--policies", filepath.Join(dir, "policies")}, wantCode: 1, wantErr: "broken.rego"},
		"missing file":            {args: []string{filepath.Join(dir, "nope.yaml")}, wantCode: 1, wantErr: "no such file"},
		"no file":                 {args: nil, wantCode: 2, wantErr: "accepts 1 arg"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), append([]string{"check-config"}, tc.args...), IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stdout %q (want %q), stderr %q (want %q)", stdout.String(), tc.wantOut, stderr.String(), tc.wantErr)
			}
		})
	}
}
