// Package version holds the build identity, set with -ldflags -X.
package version

// Set at build time by the Makefile and the Dockerfile.
var (
	Version = "dev"
	Commit  = "unknown"
)

// String is the one-line identity printed by `tollgate version`.
func String() string { return "tollgate " + Version + " (" + Commit + ")" }
