package imageref

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
const otherHex64 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

func TestParse(t *testing.T) {
	tests := map[string]struct {
		ref  string
		want Ref
	}{
		"familiar name gets docker.io, library and implicit latest": {
			ref:  "nginx",
			want: Ref{Registry: "docker.io", Repository: "library/nginx", Path: "docker.io/library/nginx", Tag: "latest", TagImplicit: true, Normalized: "docker.io/library/nginx:latest"},
		},
		"docker hub user repo": {
			ref:  "acme/app:1.0",
			want: Ref{Registry: "docker.io", Repository: "acme/app", Path: "docker.io/acme/app", Tag: "1.0", Normalized: "docker.io/acme/app:1.0"},
		},
		"legacy index.docker.io is docker.io": {
			ref:  "index.docker.io/library/nginx:1.25",
			want: Ref{Registry: "docker.io", Repository: "library/nginx", Path: "docker.io/library/nginx", Tag: "1.25", Normalized: "docker.io/library/nginx:1.25"},
		},
		"registry with port": {
			ref:  "localhost:5000/a",
			want: Ref{Registry: "localhost:5000", Repository: "a", Path: "localhost:5000/a", Tag: "latest", TagImplicit: true, Normalized: "localhost:5000/a:latest"},
		},
		"registry with port and tag": {
			ref:  "registry.example.com:5000/team/app:v2",
			want: Ref{Registry: "registry.example.com:5000", Repository: "team/app", Path: "registry.example.com:5000/team/app", Tag: "v2", Normalized: "registry.example.com:5000/team/app:v2"},
		},
		"digest only has no tag": {
			ref:  "ghcr.io/acme/app@sha256:" + hex64,
			want: Ref{Registry: "ghcr.io", Repository: "acme/app", Path: "ghcr.io/acme/app", Digest: "sha256:" + hex64, Normalized: "ghcr.io/acme/app@sha256:" + hex64},
		},
		"tag and digest keeps both": {
			ref:  "a:b@sha256:" + hex64,
			want: Ref{Registry: "docker.io", Repository: "library/a", Path: "docker.io/library/a", Tag: "b", Digest: "sha256:" + hex64, Normalized: "docker.io/library/a:b@sha256:" + hex64},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.ref)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.ref, err)
			}
			tc.want.Original = tc.ref
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tc.ref, diff)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := map[string]struct {
		ref, wantErr string
	}{
		"empty":                     {"", "reference is empty"},
		"uppercase repository":      {"NGINX", "must be lowercase"},
		"uppercase path":            {"ghcr.io/Acme/app", "must be lowercase"},
		"digest 63 hex":             {"nginx@sha256:" + hex64[:63], "invalid image reference"},
		"digest 65 hex":             {"nginx@sha256:" + hex64 + "0", "invalid image reference"},
		"digest uppercase hex":      {"nginx@sha256:" + strings.ToUpper(hex64), "invalid image reference"},
		"digest with suffix":        {"nginx@sha256:" + hex64 + "-evil", "invalid image reference"},
		"bare hex identifier":       {hex64, "64-byte hexadecimal"},
		"space inside":              {"nginx latest", "invalid image reference"},
		"leading space":             {" nginx", "spaces"},
		"double slash":              {"ghcr.io//app", "invalid image reference"},
		"tag with bad characters":   {"nginx:la/test", "invalid image reference"},
		"trailing colon, empty tag": {"nginx:", "invalid image reference"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(tc.ref)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tc.ref, got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) error %q, want it to contain %q", tc.ref, err, tc.wantErr)
			}
		})
	}
}

func TestIsSHA256Digest(t *testing.T) {
	tests := map[string]bool{
		"sha256:" + hex64:                         true,
		"sha256:" + hex64[:63]:                    false,
		"sha256:" + hex64 + "a":                   false,
		"sha256:" + strings.ToUpper(hex64):        false,
		"sha512:" + hex64 + hex64:                 false,
		"SHA256:" + hex64:                         false,
		"sha256:" + hex64[:63] + "g":              false,
		"":                                        false,
		"xsha256:" + hex64:                        false,
		"sha256:" + hex64[:32] + " " + hex64[:31]: false,
	}
	for d, want := range tests {
		if got := IsSHA256Digest(d); got != want {
			t.Errorf("IsSHA256Digest(%q) = %v, want %v", d, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		ref, pattern string
		want         bool
	}{
		{"ghcr.io/acme/app:1", "ghcr.io/acme/*", true},
		{"ghcr.io/acme/team/app:1", "ghcr.io/acme/*", true},
		{"ghcr.io/acme-evil/app:1", "ghcr.io/acme/*", false},
		{"ghcr.io/acme:1", "ghcr.io/acme/*", false},
		{"ghcr.io/acme/app", "ghcr.io/acme", true},
		{"ghcr.io/acmeevil/app", "ghcr.io/acme", false},
		{"docker.io/library/nginx", "docker.io/library", true},
		{"nginx:1.25", "docker.io/library", true},
		{"docker.io/library-evil/x", "docker.io/library", false},
		{"myregistry.io/x", "myregistry.io", true},
		{"myregistry.io.attacker.com/x", "myregistry.io", false},
		{"myregistry.io:5000/x", "myregistry.io", false},
		{"myregistry.io:5000/x", "myregistry.io:5000", true},
		{"MyRegistry.IO/x", "myregistry.io", true},
		{"nginx", "nginx", true},
		{"docker.io/library/nginx:1", "nginx", true},
		{"nginx-evil", "nginx", false},
		{"acme/app", "docker.io/acme", true},
		{"index.docker.io/acme/app", "docker.io/acme/app", true},
		{"evil.io/docker.io/library/nginx", "docker.io", false},
		{"quay.io/acme/app", "*/acme/app", true},
		{"quay.io/other/app", "*/acme/app", false},
		{"anything.io/x/y:z", "*", true},
		{"nginx:1.25", "nginx:1.25", true},
		{"nginx:1.26", "nginx:1.25", false},
		{"nginx", "nginx:latest", true},
		{"docker.io/library/nginx/sub:1.25", "nginx:1.25", false},
		{"nginx@sha256:" + hex64, "nginx@sha256:" + hex64, true},
		{"nginx:1@sha256:" + hex64, "nginx@sha256:" + hex64, true},
		{"nginx:1", "nginx@sha256:" + hex64, false},
		// a tag pins no content: the runtime pulls the digest
		{"ghcr.io/acme/app:v1.2.3@sha256:" + hex64, "ghcr.io/acme/app:v1.2.3", false},
		{"nginx:1.25@sha256:" + hex64, "nginx:1.25", false},
		{"nginx:1.25@sha256:" + hex64, "nginx:1.25@sha256:" + hex64, true},
		{"nginx@sha256:" + hex64, "nginx:1.25@sha256:" + hex64, true},
		{"nginx:1.26@sha256:" + hex64, "nginx:1.25@sha256:" + hex64, false},
		{"nginx:1.25@sha256:" + otherHex64, "nginx:1.25@sha256:" + hex64, false},
		{"nginx:1.25", "nginx:1.25@sha256:" + hex64, false},
		{"localhost:5000/a", "localhost:5000", true},
		{"localhost:5000/a", "localhost", false},
		{"NGINX", "*", false}, // invalid references match nothing
	}
	for _, tc := range tests {
		got, err := Matches(tc.ref, tc.pattern)
		if err != nil {
			t.Errorf("Matches(%q, %q): %v", tc.ref, tc.pattern, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.ref, tc.pattern, got, tc.want)
		}
	}
}

func TestCompilePatternInvalid(t *testing.T) {
	tests := map[string]string{
		"":                       "empty",
		"ghcr.io/acme-*":         "whole segment",
		"*.acme.io/app":          "whole segment",
		"ghcr.io//app":           "empty segment",
		"ghcr.io/Acme":           "not a valid repository segment",
		"ghcr.io/acme/":          "empty segment",
		"nginx@sha256:abc":       "digest",
		"nginx:bad/tag:x":        "not a valid",
		"bad_host!.io/app":       "not a valid registry",
		"localhost:5000:1.0":     "not valid",
		"ghcr.io/acme:t@sha256:": "digest",
	}
	for pattern, wantErr := range tests {
		_, err := CompilePattern(pattern)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("CompilePattern(%q) error %v, want it to contain %q", pattern, err, wantErr)
		}
	}
}
