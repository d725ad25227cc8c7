// Package policy evaluates Rego image-provenance policies against a Pod.
//
// Loading. New reads every *.rego file except *_test.rego from each source
// (the embedded policies.FS, a directory), compiles them together once in
// Rego v1 syntax against restricted capabilities (no http.send,
// net.lookup_ip_addr or opa.runtime: a decision depends on the request
// alone), and prepares one query per policy. Compile errors name file and
// line. New has no side effects, so a reload builds a new Engine and the
// caller swaps it in only when New succeeds.
//
// Policies. A policy is a package tollgate.<name> (two segments; name with
// "_" for "-") that defines deny and/or warn, sets of strings or
// {"msg", "code"?, "path"?} objects, and optionally a constant metadata
// object (description, defaultAction, parameters JSON schema) and a
// parameter_errors set. tollgate.lib.* packages are helpers. One query per
// policy, rather than one query for all, because each policy sees its own
// input.parameters and because per-policy timings feed the metrics.
//
// Evaluation. The Pod, old Pod and Namespace are converted to Rego values
// once per request with OPA's ast.InterfaceToValue and shared by every
// policy's query (only input.parameters differs). tollgate.image.*
// results are cached for the life of the Engine (bounded). Results are
// attributed to their policy: code "policy.<name>", message "[<name>] ...".
// Actions (deny, warn, dryrun, off), exemptions (namespace label selector,
// image patterns applied to results whose path names a container) and
// failureMode (closed: deny with policy.error; open: warn) are applied in Go,
// so no policy can forget them.
//
// The package imports no client-go, net/http or os: typed in, verdict out.
// time is read only when an Observer wants durations.
package policy
