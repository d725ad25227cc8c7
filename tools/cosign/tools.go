//go:build tools

// Package cosign records the cosign CLI this module builds (make cosign), so
// `go mod tidy` keeps its dependencies out of Tollgate's own go.mod.
package cosign

import _ "github.com/sigstore/cosign/v3/cmd/cosign"
