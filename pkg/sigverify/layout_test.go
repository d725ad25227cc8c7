package sigverify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCosignFixtures verifies the registry fixture made by the real cosign
// CLI (test/sigfixtures) and states each expected verdict itself.
func TestCosignFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "fixtures", "signatures", "registry")
	l, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) *Trust {
		pem, err := os.ReadFile(filepath.Join(dir, name+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := TrustSpec{Name: name, Registries: []string{"*"}, PublicKey: string(pem)}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	trusts := []*Trust{key("release")}
	tests := []struct {
		image      string
		platforms  bool
		wantSigned bool
		wantAtt    int
		wantReject string
	}{
		{"legacy.registry.test/app:classic", false, true, 0, ""},
		{"oci11.registry.test/app:bundle", false, true, 0, ""},
		{"legacy.registry.test/app:fallback-bundle", false, true, 0, ""},
		{"oci11.registry.test/app:unsigned", false, false, 0, ""},
		{"oci11.registry.test/app:wrong-key-bundle", false, false, 0, "release:"},
		{"legacy.registry.test/app:wrong-key-classic", false, false, 0, "release:"},
		{"oci11.registry.test/app:attested-only", false, false, 1, ""},
		{"legacy.registry.test/app:fallback-attested-only", false, false, 1, ""},
		{"oci11.registry.test/app:signed-attested", false, true, 1, ""},
		{"legacy.registry.test/app:transplanted", false, false, 0, "not this image"},
		{"oci11.registry.test/app:moved", false, false, 0, ""},
		{"oci11.registry.test/app:index-signed", false, true, 0, ""},
		{"oci11.registry.test/app:platforms-signed", false, false, 0, ""},
		{"oci11.registry.test/app:platforms-signed", true, true, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.image+map[bool]string{true: "+platforms"}[tc.platforms], func(t *testing.T) {
			repo, tag, _ := strings.Cut(tc.image, ":")
			digest, err := l.Resolve(t.Context(), repo, tag)
			if err != nil {
				t.Fatal(err)
			}
			img := Check(t.Context(), l, repo, digest, trusts, Options{AcceptPlatformSignatures: tc.platforms})
			if img.Error != "" {
				t.Fatal(img.Error)
			}
			if got := len(img.SignedBy) == 1; got != tc.wantSigned {
				t.Fatalf("signed=%v, want %v: %+v", got, tc.wantSigned, img)
			}
			verifiedAtts := 0
			for _, a := range img.Attestations {
				if len(a.VerifiedBy) > 0 && a.PredicateType == "https://slsa.dev/provenance/v1" && len(a.Predicate) > 0 {
					verifiedAtts++
				}
			}
			if verifiedAtts != tc.wantAtt {
				t.Errorf("%d verified SLSA attestations, want %d: %+v", verifiedAtts, tc.wantAtt, img.Attestations)
			}
			if tc.wantReject != "" {
				found := false
				for _, s := range img.Signatures {
					found = found || strings.Contains(s.Rejected, tc.wantReject)
				}
				if !found {
					t.Errorf("no signature rejected with %q: %+v", tc.wantReject, img.Signatures)
				}
			}
		})
	}
}

// TestKeylessFixture: the fixture's keyless signature (test Sigstore root
// beside the layout) verifies for its identity only.
func TestKeylessFixture(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "fixtures", "signatures", "registry")
	l, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := l.Resolve(t.Context(), "legacy.registry.test/app", "keyless")
	if err != nil {
		t.Fatal(err)
	}
	for subject, want := range map[string]bool{"release@acme.test": true, "deploy@acme.test": false} {
		tr, err := TrustSpec{
			Name: "ci", Registries: []string{"*"}, TrustedRootFile: filepath.Join(dir, "trusted_root.json"),
			Keyless: &Keyless{Issuer: "https://issuer.registry.test", Subject: subject}, TransparencyLog: TlogIgnore,
		}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		img := Check(t.Context(), l, "legacy.registry.test/app", digest, []*Trust{tr}, Options{})
		if img.Error != "" || (len(img.SignedBy) == 1) != want {
			t.Errorf("subject %s: signedBy %v (error %q), want signed=%v; signatures %+v", subject, img.SignedBy, img.Error, want, img.Signatures)
		}
	}
}

// TestInlineTrustedRoot: the Sigstore root given inline (as through a Helm
// value) verifies like the file.
func TestInlineTrustedRoot(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "fixtures", "signatures", "registry")
	l, err := OpenLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(dir, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := l.Resolve(t.Context(), "legacy.registry.test/app", "keyless")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := TrustSpec{Name: "ci", Registries: []string{"*"}, TrustedRoot: string(root), TransparencyLog: TlogIgnore,
		Keyless: &Keyless{Issuer: "https://issuer.registry.test", Subject: "release@acme.test"}}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if img := Check(t.Context(), l, "legacy.registry.test/app", digest, []*Trust{tr}, Options{}); len(img.SignedBy) != 1 {
		t.Errorf("inline root: %+v, want signed by ci", img)
	}
	if _, err := (TrustSpec{Name: "ci", Registries: []string{"*"}, TrustedRoot: "{}", TrustedRootFile: "x",
		Keyless: &Keyless{Issuer: "i", Subject: "s"}}).Compile(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("root inline and as a file: error %v, want one saying not both", err)
	}
}
