package sigverify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// keylessSig signs a simple-signing payload for digest with a short-lived
// certificate for identity from a test Sigstore (Fulcio-like CA, TSA), and
// returns it as the classic layer cosign would write, plus the trusted
// root file that verifies it.
func keylessSig(t *testing.T, vs *ca.VirtualSigstore, identity, digest string) *classicSig {
	t.Helper()
	payload := []byte(`{"critical":{"identity":{"docker-reference":"registry.test/app"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`)
	e, err := vs.Sign(identity, "https://issuer.test", payload)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		t.Fatal(err)
	}
	tsJSON, _ := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts[0]})
	c, err := parseClassic("sha256:"+hex.EncodeToString(make([]byte, 32)), payload, map[string]string{
		annSignature:   base64.StdEncoding.EncodeToString(sc.Signature()),
		annCertificate: string(certPEM),
		annTimestamp:   string(tsJSON),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trustedRootFile writes the test Sigstore's CA and TSA (no CT or Rekor
// log) as a trusted_root.json.
func trustedRootFile(t *testing.T, vs *ca.VirtualSigstore) string {
	t.Helper()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKeylessIdentity: a keyless signature verifies offline against the
// configured root only for the configured issuer and subject, and only
// with an observer timestamp.
func TestKeylessIdentity(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("image"))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	sig := keylessSig(t, vs, "ci@acme.test", digest)
	rootFile := trustedRootFile(t, vs)
	trust := func(subject, subjectRE string) *Trust {
		tr, err := TrustSpec{
			Name: "ci", Registries: []string{"registry.test"}, TrustedRootFile: rootFile, TransparencyLog: TlogIgnore,
			Keyless: &Keyless{Issuer: "https://issuer.test", Subject: subject, SubjectRegExp: subjectRE},
		}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tests := map[string]struct {
		trust      *Trust
		sig        *classicSig
		digest     string
		wantSigned bool
		wantReason string
	}{
		"exact subject":       {trust("ci@acme.test", ""), sig, digest, true, ""},
		"subject pattern":     {trust("", `^.*@acme\.test$`), sig, digest, true, ""},
		"wrong subject":       {trust("release@acme.test", ""), sig, digest, false, "ci: failed to verify certificate identity"},
		"other image":         {trust("ci@acme.test", ""), sig, "sha256:" + strings.Repeat("1", 64), false, "not this image"},
		"without a timestamp": {trust("ci@acme.test", ""), &classicSig{payload: sig.payload, signature: sig.signature, cert: sig.cert}, digest, false, "timestamp"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			by, reason := verifyClassic(tc.sig, tc.digest, []*Trust{tc.trust})
			if got := len(by) == 1; got != tc.wantSigned {
				t.Fatalf("signed=%v, want %v (reason %q)", got, tc.wantSigned, reason)
			}
			if !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason %q does not say %q", reason, tc.wantReason)
			}
		})
	}
}

// TestTrustSpecErrors: bad trust config is refused with a clear error.
func TestTrustSpecErrors(t *testing.T) {
	tests := map[string]struct {
		spec TrustSpec
		want string
	}{
		"no name":       {TrustSpec{Registries: []string{"a.test"}, PublicKey: "x"}, "name: required"},
		"no registries": {TrustSpec{Name: "a", PublicKey: "x"}, "registries: at least one"},
		"bad pattern":   {TrustSpec{Name: "a", Registries: []string{"acme-*"}, PublicKey: "x"}, "registries[0]"},
		"garbage key":   {TrustSpec{Name: "a", Registries: []string{"a.test"}, PublicKey: "not a key"}, "publicKey: not a PEM public key"},
		"key and keyless": {TrustSpec{Name: "a", Registries: []string{"a.test"}, PublicKey: "x", Keyless: &Keyless{Issuer: "i", Subject: "s"}},
			"exactly one of publicKey, publicKeyFile and keyless"},
		"keyless without root": {TrustSpec{Name: "a", Registries: []string{"a.test"}, Keyless: &Keyless{Issuer: "i", Subject: "s"}}, "trustedRootFile: required for keyless"},
		"missing key file":     {TrustSpec{Name: "a", Registries: []string{"a.test"}, PublicKeyFile: "/nonexistent.pub"}, "publicKeyFile: open /nonexistent.pub"},
		"bad tlog":             {TrustSpec{Name: "a", Registries: []string{"a.test"}, PublicKey: "x", TransparencyLog: "maybe"}, `transparencyLog: "maybe"`},
		"key needs root for tlog": {TrustSpec{Name: "a", Registries: []string{"a.test"}, PublicKey: newKeyPEM(t), TransparencyLog: TlogRequired},
			"trustedRootFile: required for a key with transparencyLog: required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.spec.Compile()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
