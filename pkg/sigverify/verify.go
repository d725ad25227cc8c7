package sigverify

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// Options change what counts as signed; they are part of the cache key.
type Options struct {
	// AcceptPlatformSignatures: an index that is not signed by a trust
	// itself counts as signed by it when every platform manifest it lists
	// is. Off by default: a signature on the index is a statement about
	// the whole set, one on each platform manifest is not (an index can be
	// rebuilt around signed manifests with an unsigned one added).
	AcceptPlatformSignatures bool
	// SignedTTL and UnsignedTTL, when set, replace the cache's own TTLs for
	// answers of this check, so a reload changes them; not part of the key.
	SignedTTL, UnsignedTTL time.Duration
}

func (o Options) key() string { return fmt.Sprintf("platforms=%v", o.AcceptPlatformSignatures) }

// Check finds and verifies every signature and attestation of repo@digest
// against trusts. Registry trouble is reported in Image.Error, never as an
// image without signatures.
func Check(ctx context.Context, reg Registry, repo, digest string, trusts []*Trust, opts Options) Image {
	img := provenance.Empty(digest)
	raw, err := hex.DecodeString(trimAlgo(digest))
	if err != nil || len(raw) != 32 {
		img.Error = fmt.Sprintf("digest %q is not sha256", digest)
		return img
	}
	found, err := discover(ctx, reg, repo, digest)
	if err != nil {
		return provenance.Failed(digest, err.Error(), registry.IsTransient(err))
	}
	signed := map[string]bool{}
	for _, a := range found {
		sig, att := evaluate(a, digest, raw, trusts)
		if sig != nil {
			img.Signatures = append(img.Signatures, *sig)
			for _, n := range sig.VerifiedBy {
				signed[n] = true
			}
		}
		if att != nil {
			img.Attestations = append(img.Attestations, *att)
		}
	}
	if opts.AcceptPlatformSignatures && len(signed) < len(trusts) {
		if err := checkPlatforms(ctx, reg, repo, digest, trusts, signed, &img); err != nil {
			return provenance.Failed(digest, err.Error(), registry.IsTransient(err))
		}
	}
	for n := range signed {
		img.SignedBy = append(img.SignedBy, n)
	}
	sort.Strings(img.SignedBy)
	return img
}

// evaluate verifies one artifact against every trust and says whether it
// is a signature or an attestation.
func evaluate(a artifact, digest string, raw []byte, trusts []*Trust) (*Signature, *Attestation) {
	switch {
	case a.classic != nil:
		s := &Signature{Format: FormatSimpleSigning, Source: a.source, Artifact: a.manifest, VerifiedBy: []string{}, Rejected: a.malformed}
		if s.Rejected == "" {
			s.VerifiedBy, s.Rejected = verifyClassic(a.classic, digest, trusts)
		}
		return s, nil
	case a.bundle == nil:
		return &Signature{Format: FormatBundle, Source: a.source, Artifact: a.manifest, VerifiedBy: []string{}, Rejected: a.malformed}, nil
	}
	env, err := a.bundle.Envelope()
	if err != nil || env == nil {
		// A message signature over some blob names no image and no
		// predicate: it is neither an image signature nor an attestation.
		return &Signature{Format: FormatBundle, Source: a.source, Artifact: a.manifest, VerifiedBy: []string{},
			Rejected: "bundle holds no DSSE statement, so it names no image"}, nil
	}
	predType, predicate := statementOf(env)
	verified, rejected := []string{}, ""
	for _, t := range trusts {
		_, err := t.verifier.Verify(a.bundle, verify.NewPolicy(verify.WithArtifactDigest("sha256", raw), t.identity))
		if err != nil {
			rejected = firstReason(rejected, t.Name, err)
			continue
		}
		verified = append(verified, t.Name)
	}
	if len(verified) > 0 {
		rejected = ""
	}
	if predType == PredicateCosignSign {
		return &Signature{Format: FormatBundle, Source: a.source, Artifact: a.manifest, VerifiedBy: verified, Rejected: rejected}, nil
	}
	att := &Attestation{PredicateType: predType, Source: a.source, Artifact: a.manifest, VerifiedBy: verified, Rejected: rejected}
	if len(verified) > 0 {
		att.Predicate = predicate
	}
	return nil, att
}

func verifyClassic(c *classicSig, digest string, trusts []*Trust) ([]string, string) {
	if err := c.checkBinding(digest); err != nil {
		return []string{}, err.Error()
	}
	verified, rejected := []string{}, ""
	for _, t := range trusts {
		pb := verify.NewPolicy(verify.WithArtifact(bytes.NewReader(c.payload)), t.identity)
		if _, err := t.verifier.Verify(classicEntity{c}, pb); err != nil {
			rejected = firstReason(rejected, t.Name, err)
			continue
		}
		verified = append(verified, t.Name)
	}
	if len(verified) > 0 {
		rejected = ""
	}
	return verified, rejected
}

// statementOf reads the (not yet verified) statement's predicate type and
// predicate; they are used only after the envelope verifies.
func statementOf(env *bundle.Envelope) (string, json.RawMessage) {
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return "", nil
	}
	var st struct {
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if json.Unmarshal(payload, &st) != nil {
		return "", nil
	}
	return st.PredicateType, st.Predicate
}

func firstReason(prev, trust string, err error) string {
	if prev != "" {
		return prev
	}
	return provenance.OneLine(fmt.Sprintf("%s: %v", trust, err))
}

// checkPlatforms, for an index, counts a trust as signer when it signed
// every platform manifest (attestation manifests without a platform aside).
func checkPlatforms(ctx context.Context, reg Registry, repo, digest string, trusts []*Trust, signed map[string]bool, img *Image) error {
	m, err := reg.Manifest(ctx, repo, digest)
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	if !types.MediaType(m.MediaType).IsIndex() {
		return nil
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(m.Raw, &idx); err != nil {
		return fmt.Errorf("image index: %w", err)
	}
	count := map[string]int{}
	total := 0
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		total++
		child := Check(ctx, reg, repo, d.Digest.String(), trusts, Options{})
		if child.Error != "" {
			return fmt.Errorf("platform %s: %s", d.Platform, child.Error)
		}
		img.Platforms = append(img.Platforms, Platform{Platform: d.Platform.String(), Digest: d.Digest.String(), SignedBy: child.SignedBy})
		for _, n := range child.SignedBy {
			count[n]++
		}
	}
	for n, c := range count {
		if total > 0 && c == total {
			signed[n] = true
		}
	}
	return nil
}

func trimAlgo(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		return d[7:]
	}
	return ""
}
