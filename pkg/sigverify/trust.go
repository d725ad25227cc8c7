package sigverify

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Transparency-log requirement of a trust entry.
const (
	TlogRequired = "required"
	TlogIgnore   = "ignore"
)

// TrustSpec is one named way an image may be signed, as configured: a
// public key (cosign key pair or a PEM key a KMS exports) or a keyless
// identity checked against a Sigstore trusted root. Nothing here is ever
// fetched from the network: roots and keys are files or inline PEM.
type TrustSpec struct {
	Name string `json:"name"`
	// Registries selects the images this trust is checked for; Tollgate
	// contacts no registry that no trust entry selects.
	Registries []string `json:"registries"`
	// PublicKey is inline PEM; PublicKeyFile a path to one.
	PublicKey     string   `json:"publicKey,omitempty"`
	PublicKeyFile string   `json:"publicKeyFile,omitempty"`
	Keyless       *Keyless `json:"keyless,omitempty"`
	// TrustedRootFile is a Sigstore trusted_root.json (Fulcio CAs, Rekor
	// and CT log keys, TSAs); needed for keyless and for any tlog check.
	// TrustedRoot is the same JSON inline (the way through a Helm chart).
	TrustedRootFile string `json:"trustedRootFile,omitempty"`
	TrustedRoot     string `json:"trustedRoot,omitempty"`
	// TransparencyLog is required (an offline-verifiable Rekor entry must
	// be in the signature) or ignore. Default: required for keyless, ignore
	// for keys.
	TransparencyLog string `json:"transparencyLog,omitempty"`
}

// Keyless is the certificate identity a keyless signature must carry.
// Exactly one of Subject and SubjectRegExp, and of Issuer and IssuerRegExp.
type Keyless struct {
	Issuer        string `json:"issuer,omitempty"`
	IssuerRegExp  string `json:"issuerRegExp,omitempty"`
	Subject       string `json:"subject,omitempty"`
	SubjectRegExp string `json:"subjectRegExp,omitempty"`
}

// Trust is a compiled TrustSpec.
type Trust struct {
	Name       string
	Hash       string
	registries []imageref.Pattern
	verifier   *verify.Verifier
	identity   verify.PolicyOption
}

// Compile validates the spec, reads its files and builds the verifier.
func (s TrustSpec) Compile() (*Trust, error) {
	t := &Trust{Name: s.Name}
	if s.Name == "" {
		return nil, errors.New("name: required")
	}
	if len(s.Registries) == 0 {
		return nil, errors.New("registries: at least one image pattern is required")
	}
	for i, r := range s.Registries {
		p, err := imageref.CompilePattern(r)
		if err != nil {
			return nil, fmt.Errorf("registries[%d]: %w", i, err)
		}
		t.registries = append(t.registries, p)
	}
	keyPEM, err := readEither("publicKey", "publicKeyFile", s.PublicKey, s.PublicKeyFile)
	if err != nil {
		return nil, err
	}
	rootJSON, err := readEither("trustedRoot", "trustedRootFile", s.TrustedRoot, s.TrustedRootFile)
	if err != nil {
		return nil, err
	}
	tlog := s.TransparencyLog
	switch {
	case tlog == "" && s.Keyless != nil:
		tlog = TlogRequired
	case tlog == "":
		tlog = TlogIgnore
	case tlog != TlogRequired && tlog != TlogIgnore:
		return nil, fmt.Errorf("transparencyLog: %q is not one of required, ignore", tlog)
	}
	switch {
	case (keyPEM != nil) == (s.Keyless != nil):
		return nil, errors.New("set exactly one of publicKey, publicKeyFile and keyless")
	case keyPEM != nil:
		err = t.compileKey(keyPEM, rootJSON, tlog)
	default:
		err = t.compileKeyless(*s.Keyless, rootJSON, tlog)
	}
	if err != nil {
		return nil, err
	}
	// The hash covers the content of files, not their paths, so a rotated
	// key or root is a new trust configuration for the caches.
	h := sha256.New()
	_ = json.NewEncoder(h).Encode([]any{s.Name, s.Registries, string(keyPEM), string(rootJSON), s.Keyless, tlog})
	t.Hash = hex.EncodeToString(h.Sum(nil))[:16]
	return t, nil
}

func (t *Trust) compileKey(keyPEM, rootJSON []byte, tlog string) error {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(keyPEM)
	if err != nil {
		return fmt.Errorf("publicKey: not a PEM public key: %w", err)
	}
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		return fmt.Errorf("publicKey: %w", err)
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("publicKey: %w", err)
	}
	key := root.NewExpiringKey(sv, timeZero, timeZero)
	// The key is the only one this trust holds, whatever hint a
	// signature carries: which key signed is decided by the signature check.
	var material root.TrustedMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	opts := []verify.VerifierOption{verify.WithNoObserverTimestamps()}
	if tlog == TlogRequired {
		tr, err := parseRoot(rootJSON, "a key with transparencyLog: required")
		if err != nil {
			return err
		}
		material = root.TrustedMaterialCollection{material, tr}
		opts = []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1)}
	}
	t.verifier, err = verify.NewVerifier(material, opts...)
	t.identity = verify.WithKey()
	return err
}

func (t *Trust) compileKeyless(k Keyless, rootJSON []byte, tlog string) error {
	tr, err := parseRoot(rootJSON, "keyless")
	if err != nil {
		return err
	}
	if (k.Issuer == "") == (k.IssuerRegExp == "") || (k.Subject == "") == (k.SubjectRegExp == "") {
		return errors.New("keyless: set exactly one of issuer and issuerRegExp, and one of subject and subjectRegExp")
	}
	id, err := verify.NewShortCertificateIdentity(k.Issuer, k.IssuerRegExp, k.Subject, k.SubjectRegExp)
	if err != nil {
		return fmt.Errorf("keyless: %w", err)
	}
	// A Fulcio certificate lives minutes: the signature time must be
	// proven by a log entry or a signed timestamp, never taken from the clock.
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if tlog == TlogRequired {
		opts = append(opts, verify.WithTransparencyLog(1))
	}
	if len(tr.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	t.verifier, err = verify.NewVerifier(tr, opts...)
	t.identity = verify.WithCertificateIdentity(id)
	return err
}

var timeZero time.Time

// Selects reports whether the trust applies to the image.
func (t *Trust) Selects(r imageref.Ref) bool { return imageref.MatchAny(r, t.registries) }

func parseRoot(rootJSON []byte, who string) (*root.TrustedRoot, error) {
	if rootJSON == nil {
		return nil, fmt.Errorf("trustedRootFile: required for %s", who)
	}
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		return nil, fmt.Errorf("trustedRootFile: not a Sigstore trusted root: %w", err)
	}
	return tr, nil
}

// readEither returns the inline value or the file's content (nil when neither is set).
func readEither(field, fileField, inline, file string) ([]byte, error) {
	switch {
	case inline != "" && file != "":
		return nil, fmt.Errorf("set either %s or %s, not both", field, fileField)
	case inline != "":
		return []byte(inline), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileField, err)
		}
		return b, nil
	}
	return nil, nil
}

// setHash identifies a set of trusts plus the options that change results.
func setHash(trusts []*Trust, extra string) string {
	hs := make([]string, 0, len(trusts)+1)
	for _, t := range trusts {
		hs = append(hs, t.Hash)
	}
	sort.Strings(hs)
	hs = append(hs, extra)
	sum := sha256.Sum256([]byte(fmt.Sprint(hs)))
	return hex.EncodeToString(sum[:8])
}
