// Package registry is Tollgate's only way to talk to an OCI registry. It is
// plumbing: it runs before any decision, and decisions see only its results.
//
// Only registries that a `registries.access` rule selects are ever
// contacted. A reference whose registry no rule selects is answered with a
// KindNotSelected error before any DNS lookup or dial. Plain HTTP is refused
// unless the rule says insecure. Each rule carries its own CA bundle and
// timeout.
//
// Tag to digest resolution costs one manifest HEAD per new (tag, credentials)
// pair (plus one GET /v2/ the first time a repository is reached with given
// credentials, to learn its auth scheme). Results are cached for seconds and
// only for pinning; concurrent identical lookups share one request;
// transient failures (timeouts, 429, 5xx, refused connections) are reported
// as such and never cached.
package registry
