// Package policies holds the Rego policies shipped with Tollgate, their
// unit tests and the JSON schemas of the policy contract. See README.md.
package policies

import "embed"

// FS holds every shipped policy (*.rego), its tests (*_test.rego, skipped by
// the engine, run by `tollgate test`) and the contract schemas (schemas/*.json).
//
//go:embed *.rego lib/*.rego schemas/*.json README.md
var FS embed.FS
