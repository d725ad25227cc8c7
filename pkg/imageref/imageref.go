// Package imageref parses and normalises container image references the way
// the container runtime does, and matches them against segment patterns.
//
// Policies must never compare raw image strings: "nginx",
// "docker.io/nginx" and "index.docker.io/library/nginx:latest" are the same
// image, and a prefix test on the raw string lets "ghcr.io/acme-evil/x" pass an
// allowlist entry "ghcr.io/acme". Everything here works on the normalised
// form produced by github.com/distribution/reference, and compares whole
// path segments only.
//
// Invalid references are reported (Ref.Err), never guessed at: a policy that
// cannot tell where an image comes from must treat it as a violation.
package imageref

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// DefaultTag is the tag the runtime pulls when a reference names none.
const DefaultTag = "latest"

// Ref is a parsed image reference.
type Ref struct {
	// Original is the reference as written in the Pod.
	Original string `json:"original"`
	// Registry is the registry host (and port), e.g. "docker.io", "localhost:5000".
	Registry string `json:"registry"`
	// Repository is the path inside the registry, e.g. "library/nginx".
	Repository string `json:"repository"`
	// Path is Registry + "/" + Repository, e.g. "docker.io/library/nginx".
	Path string `json:"path"`
	// Tag is the tag, or "latest" when the reference names neither a tag nor a digest.
	Tag string `json:"tag"`
	// TagImplicit is true when Tag was not written but implied.
	TagImplicit bool `json:"tagImplicit"`
	// Digest is "algorithm:hex" when the reference is pinned, else "".
	Digest string `json:"digest"`
	// Normalized is the fully qualified form, e.g. "docker.io/library/nginx:latest".
	// A reference with both tag and digest keeps both.
	Normalized string `json:"normalized"`
}

// Parse parses ref as the container runtime would (Docker Hub familiar
// names are expanded). A reference with a digest but no tag has an empty
// Tag and TagImplicit false: the runtime pulls by digest only.
func Parse(ref string) (Ref, error) {
	if ref == "" {
		return Ref{}, &ParseError{Ref: ref, Reason: "reference is empty"}
	}
	if strings.TrimSpace(ref) != ref {
		return Ref{}, &ParseError{Ref: ref, Reason: "leading or trailing spaces"}
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return Ref{}, &ParseError{Ref: ref, Reason: cleanErr(err)}
	}
	r := Ref{
		Original:   ref,
		Registry:   reference.Domain(named),
		Repository: reference.Path(named),
	}
	r.Path = r.Registry + "/" + r.Repository
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag, r.TagImplicit = DefaultTag, true
	}
	r.Normalized = r.Path
	if r.Tag != "" {
		r.Normalized += ":" + r.Tag
	}
	if r.Digest != "" {
		r.Normalized += "@" + r.Digest
	}
	return r, nil
}

// ParseError tells why a reference is invalid.
type ParseError struct {
	Ref    string
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid image reference %q: %s", e.Ref, e.Reason)
}

// Pinned reports whether the reference names a well-formed sha256 digest,
// which makes it immutable.
func (r Ref) Pinned() bool {
	return IsSHA256Digest(r.Digest)
}

// IsSHA256Digest reports whether d is exactly "sha256:" followed by 64
// lowercase hex digits.
func IsSHA256Digest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(hex) != 64 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// cleanErr drops the library's generic prefix so messages read well after ours.
func cleanErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "invalid reference format: ")
	if s == "invalid reference format" {
		return "not a valid reference"
	}
	return s
}
