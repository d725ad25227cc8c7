package sigverify

import "github.com/tollgate-dev/tollgate/pkg/provenance"

// The result types live in pkg/provenance, which policies may import.
type (
	Image       = provenance.Image
	Signature   = provenance.Signature
	Attestation = provenance.Attestation
	Platform    = provenance.Platform
)

// Formats and sources.
const (
	FormatSimpleSigning = provenance.FormatSimpleSigning
	FormatBundle        = provenance.FormatBundle
	SourceTag           = provenance.SourceTag
	SourceReferrers     = provenance.SourceReferrers
	SourceFallbackTag   = provenance.SourceFallbackTag
)
