package sigverify

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Registry is what verification needs from a registry. Repositories are
// "host/path" (as in host/path:tag); refs are tags or "sha256:..." digests.
//
// Errors must say whether the registry gave a definitive answer: ErrNotFound
// (the manifest or tag does not exist) and ErrReferrersUnsupported (the
// registry has no referrers API) are definitive; anything else (timeouts,
// 429, 5xx, 401) is not, and is never read as "unsigned" or cached.
type Registry interface {
	// Resolve returns the digest a tag points at now.
	Resolve(ctx context.Context, repo, tag string) (string, error)
	// Manifest fetches a manifest by tag or digest.
	Manifest(ctx context.Context, repo, ref string) (*Manifest, error)
	// Referrers lists the manifests whose subject is digest (OCI 1.1 API).
	Referrers(ctx context.Context, repo, digest string) ([]v1.Descriptor, error)
	// Blob fetches a blob by digest, refusing more than max bytes.
	Blob(ctx context.Context, repo, digest string, max int64) ([]byte, error)
}

// Manifest is a fetched manifest, its digest computed from its bytes.
type Manifest struct {
	Digest    string
	MediaType string
	Raw       []byte
}

var (
	// ErrNotFound: the registry answered that the manifest or blob does not exist.
	ErrNotFound = errors.New("not found")
	// ErrReferrersUnsupported: the registry has no referrers API.
	ErrReferrersUnsupported = errors.New("registry has no referrers API")
)

// Limits on what is read from a registry, so a hostile registry cannot make
// Tollgate read without bound.
const (
	maxManifestBytes = 4 << 20
	maxBlobBytes     = 4 << 20
	maxArtifacts     = 64
)

// Media and artifact types cosign writes.
const (
	mediaSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	annSignature       = "dev.cosignproject.cosign/signature"
	annCertificate     = "dev.sigstore.cosign/certificate"
	annChain           = "dev.sigstore.cosign/chain"
	annRekorBundle     = "dev.sigstore.cosign/bundle"
	annTimestamp       = "dev.sigstore.cosign/rfc3161timestamp"
	bundleMediaPrefix  = "application/vnd.dev.sigstore.bundle"
	// PredicateCosignSign is the predicate cosign v3 signs an image with.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
	simpleSigningType   = "cosign container image signature"
)

// tagFor turns "sha256:<hex>" into the tag cosign derives from it
// ("sha256-<hex>" plus suffix).
func tagFor(digest, suffix string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return "", fmt.Errorf("digest %q: %w", digest, err)
	}
	return h.Algorithm + "-" + h.Hex + suffix, nil
}
