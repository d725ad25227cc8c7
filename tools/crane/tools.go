//go:build tools

// Package crane records the crane CLI this module builds (make crane), used to
// push test images without Docker.
package crane

import _ "github.com/google/go-containerregistry/cmd/crane"
