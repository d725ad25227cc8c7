// Package provenance holds what signature verification found for each image
// of a request: the values policies read as input.images. It is pure data,
// shared by the verifier (pkg/sigverify, plumbing) and the decisions.
package provenance

import (
	"encoding/json"
	"strings"
)

// Image is what verification found for one image digest: what the policy
// input carries for it. A signature requirement reads SignedBy; Error set
// means the registry could not be asked and nothing is known.
type Image struct {
	// Digest is the digest verified: the one the Pod names, or the one its
	// tag resolved to during this admission.
	Digest string `json:"digest"`
	// Resolved is true when Digest came from resolving the Pod's tag.
	Resolved bool `json:"resolved"`
	// Signatures are every signature found for Digest, in any layout.
	Signatures []Signature `json:"signatures"`
	// Attestations are in-toto statements about Digest (never signatures).
	Attestations []Attestation `json:"attestations"`
	// SignedBy names the trusts with a verified signature on Digest (or on
	// each of its platform manifests, when the config accepts that).
	SignedBy []string `json:"signedBy"`
	// Platforms lists the platform manifests of an index and their
	// signers, when platform signatures are accepted and were looked at.
	Platforms []Platform `json:"platforms,omitempty"`
	// Error says why the image could not be checked; the answer is unknown
	// and must not be read as unsigned.
	Error string `json:"error,omitempty"`
	// Transient marks an Error a retry may clear with nothing changed
	// (timeout, 429, 5xx): the policy's onError decides. Any other Error
	// (credentials refused, not found, untrusted TLS, an unusable answer) is
	// definitive and denies: a tenant could cause it at will, for instance
	// by naming a private image without its pull secret that nodes can pull
	// with their own credentials.
	Transient bool `json:"transient,omitempty"`
}

// Signature is one signature found.
type Signature struct {
	// Format is simple-signing (classic cosign) or bundle (Sigstore bundle
	// with the cosign signature predicate).
	Format string `json:"format"`
	// Source is tag (sha256-<hex>.sig), referrers (OCI 1.1 API) or
	// fallback-tag (the sha256-<hex> referrers index tag).
	Source string `json:"source"`
	// Artifact is the digest of the manifest that carries the signature.
	Artifact string `json:"artifact"`
	// VerifiedBy names the configured trusts it verified against.
	VerifiedBy []string `json:"verifiedBy"`
	// Rejected says why it verified against none of them.
	Rejected string `json:"rejected,omitempty"`
}

// Attestation is one in-toto statement about the image, in a bundle.
type Attestation struct {
	PredicateType string   `json:"predicateType"`
	Source        string   `json:"source"`
	Artifact      string   `json:"artifact"`
	VerifiedBy    []string `json:"verifiedBy"`
	// Predicate is present only when the statement verified.
	Predicate json.RawMessage `json:"predicate,omitempty"`
	Rejected  string          `json:"rejected,omitempty"`
}

// Platform is one platform manifest of an index and who signed it.
type Platform struct {
	Platform string   `json:"platform"`
	Digest   string   `json:"digest"`
	SignedBy []string `json:"signedBy"`
}

// Formats and sources.
const (
	FormatSimpleSigning = "simple-signing"
	FormatBundle        = "bundle"
	SourceTag           = "tag"
	SourceReferrers     = "referrers"
	SourceFallbackTag   = "fallback-tag"
)

// Empty is a result with nothing found and nothing known yet.
func Empty(digest string) Image {
	return Image{Digest: digest, Signatures: []Signature{}, Attestations: []Attestation{}, SignedBy: []string{}}
}

// Failed is a result for an image that could not be checked: msg says
// why, transient whether a retry may clear it. Policies must not read it
// as unsigned.
func Failed(digest, msg string, transient bool) Image {
	img := Empty(digest)
	img.Error, img.Transient = OneLine(msg), transient
	return img
}

// OneLine makes a registry's or a library's message fit an admission
// warning: the API server drops warnings with control characters (a 429
// body ends in a newline), so whitespace runs become one space, and the
// message is cut at 1000 bytes.
func OneLine(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 1000 {
		msg = strings.ToValidUTF8(msg[:1000], "") + "..."
	}
	return msg
}
