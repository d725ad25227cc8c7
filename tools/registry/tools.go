//go:build tools

// Package registry records the CNCF Distribution registry this module builds
// (make registry) for the e2e tests and the demo.
package registry

import _ "github.com/distribution/distribution/v3/cmd/registry"
