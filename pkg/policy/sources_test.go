package policy

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/policies"
)

// A custom source cannot define or extend the shipped helpers: one file
// "containers := set()" there would switch every shipped policy off.
func TestReservedLibRefused(t *testing.T) {
	tests := map[string]struct{ src, want string }{
		"helper package": {
			"package tollgate.lib.pod\n\ncontainers := set()\nimages := set()\n",
			"mine/pod.rego:1: package data.tollgate.lib.pod is reserved for Tollgate's own helpers",
		},
		"new package under lib": {
			"package tollgate.lib.mine\n\nx := 1\n",
			"package data.tollgate.lib.mine is reserved",
		},
		"rule head reaching into lib": {
			"package tollgate\n\nlib.pod.invalid contains {\"msg\": \"x\"} if false\n",
			"mine/pod.rego:3: rule data.tollgate.lib.pod.invalid writes into data.tollgate.lib",
		},
		"whole lib as a rule": {
			"package tollgate\n\nlib := {}\n",
			"rule data.tollgate.lib writes into data.tollgate.lib",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(t.Context(), policies.FS, mapFS(map[string]string{"mine/pod.rego": tc.src}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Other helper packages are the user's own.
	if _, err := New(t.Context(), policies.FS, mapFS(map[string]string{"h.rego": "package tollgate.mylib.pod\n\nx := 1\n"})); err != nil {
		t.Errorf("tollgate.mylib refused: %v", err)
	}
}

// Replacing a shipped policy is reported, and the config must name it.
func TestReplacementNeedsOverride(t *testing.T) {
	mine := mapFS(map[string]string{
		"ar/a.rego": "package tollgate.allowed_registries\n\ndeny contains \"no\" if false\n",
		"own.rego":  "package tollgate.own\n\ndeny contains \"no\" if false\n",
	})
	e, err := New(t.Context(), policies.FS, mine)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Replacements()
	if len(got) != 1 || got[0].Policy != "allowed-registries" || got[0].Package != "tollgate.allowed_registries" || len(got[0].Files) != 1 || got[0].Files[0] != "ar/a.rego" {
		t.Fatalf("Replacements = %+v, want allowed-registries by ar/a.rego", got)
	}
	err = e.Validate(Settings{})
	if err == nil || !strings.Contains(err.Error(), `replace policy "allowed-registries" (package tollgate.allowed_registries) of an earlier source; name it in policies.overrides`) {
		t.Errorf("Validate without overrides = %v", err)
	}
	if err := e.Validate(Settings{Overrides: []string{"allowed-registries"}}); err != nil {
		t.Errorf("Validate with the override: %v", err)
	}
	if err := e.Validate(Settings{Overrides: []string{"allowed-registries", "nope"}}); err == nil || !strings.Contains(err.Error(), `policies.overrides[1]: unknown policy "nope"`) {
		t.Errorf("unknown override accepted: %v", err)
	}
	if r := shipped(t).Replacements(); len(r) != 0 {
		t.Errorf("shipped alone replaces %+v", r)
	}
}

// A checkout of the shipped set, lib included, is not a replacement of the
// helpers; a changed copy is.
func TestUnchangedLibCopyAllowed(t *testing.T) {
	if _, err := New(t.Context(), policies.FS, policies.FS); err != nil {
		t.Errorf("New(shipped, copy of shipped): %v", err)
	}
	src, err := fs.ReadFile(policies.FS, "lib/pod.rego")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), `kinds := ["initContainers", "containers", "ephemeralContainers"]`, `kinds := []`, 1)
	if changed == string(src) {
		t.Fatal("lib/pod.rego no longer has the line this test changes")
	}
	if _, err := New(t.Context(), policies.FS, mapFS(map[string]string{"lib/pod.rego": changed})); err == nil || !strings.Contains(err.Error(), "is reserved") {
		t.Errorf("changed copy of lib/pod.rego: %v", err)
	}
}

func TestUnchangedCopyIsNoReplacement(t *testing.T) {
	e, err := New(t.Context(), policies.FS, policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Replacements(); len(r) != 0 {
		t.Errorf("Replacements = %+v, want none", r)
	}
}

// Several replaced packages, each by several files (met in interleaved
// order), are all reported with every one of their files.
func TestReplacementsListEveryFile(t *testing.T) {
	mine := mapFS(map[string]string{
		"ar/a.rego": "package tollgate.allowed_registries\n\ndeny contains \"a\" if false\n",
		"zz.rego":   "package tollgate.allowed_registries\n\ndeny contains \"b\" if false\n",
		"dt/a.rego": "package tollgate.disallowed_tags\n\ndeny contains \"a\" if false\n",
		"dt/b.rego": "package tollgate.disallowed_tags\n\ndeny contains \"b\" if false\n",
	})
	e, err := New(t.Context(), policies.FS, mine)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Replacements()
	if len(got) != 2 {
		t.Fatalf("Replacements = %+v, want 2", got)
	}
	for _, r := range got {
		if len(r.Files) != 2 {
			t.Errorf("%s replaced by %v, want both of its files", r.Package, r.Files)
		}
	}
}
