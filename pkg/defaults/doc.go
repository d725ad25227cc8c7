// Package defaults is Tollgate's LimitRange semantics: it fills missing
// container requests and limits (Apply, mutating webhook) and checks min, max
// and maxLimitRequestRatio (Validate, validating webhook), exactly as the
// in-tree LimitRanger admission plugin does, plus cluster-wide profiles.
// It is pure: typed values in, values out; no client, no I/O, no clock.
//
// # Why emulate, and in which order
//
// kube-apiserver runs API defaulting, then the in-tree LimitRanger, then
// mutating webhooks, and re-runs API defaulting on every patched object.
// Apply replays that order so that the Pod it returns is the Pod the API
// server stores, whether or not the in-tree plugin is enabled:
//
//  1. API defaulting: a container or init container with a limit but no
//     request gets request = limit (ephemeral containers are never touched).
//  2. LimitRange defaults, then profile defaults: per container and per key,
//     a missing limit gets the source's `default`, a missing request its
//     `defaultRequest`. Presence counts, not value: an explicit 0 stays.
//     Precedence is explicit value > LimitRange > profile; among LimitRanges
//     and among profiles the first one that has a key wins.
//  3. API defaulting again.
//
// # Sources
//
// LimitRanges are taken in name order (upstream's lister order is undefined,
// and its docs call the result "not deterministic"). A LimitRange gets the
// API server's own LimitRange defaulting first (default ← max,
// defaultRequest ← default, then defaultRequest ← min, Container items only):
// objects from the cache already carry it and are unchanged by it, while raw
// objects in fixtures and `tollgate eval` then behave as they would once
// stored. So `max: {cpu: 1}` alone defaults cpu request and limit to 1, and a
// `max` of an extended resource hands it to every container, as upstream.
//
// Profiles come after all LimitRanges, in the order given, and are taken as
// written: a profile's `max` or `min` is a bound, never a default (users who
// want a default say `default`; this avoids kubernetes#74507). Pod-type
// items have no defaults in either source.
//
// # Default limit below the request (kubernetes#51430)
//
// Upstream sets a LimitRange default limit even when the container's request
// is higher, and the API server then rejects the Pod (422). Apply keeps that
// for LimitRanges and adds a warning. A profile's default limit is instead
// raised to the request (or, for hugepages and extended resources, which
// cannot be overcommitted, set equal to it), with a warning.
//
// # Annotation
//
// What Apply set is recorded in AnnotationDefaulted in the in-tree
// LimitRanger's words, e.g. "cpu, memory request for container app; cpu
// limit for init container setup", and merged with an existing value.
// Requests the API server would copy from a limit the user wrote are not
// recorded; requests copied from a limit Tollgate set are.
//
// # Validation
//
// Validate checks the Pod as given (the final object), with request = limit
// API defaulting applied to a copy. Container items apply to every container
// and init container; Pod items to the Pod's totals: the sum of containers
// and sidecars, or the largest init container plus the sidecars started
// before it if that is larger, with pod-level cpu/memory taking precedence;
// overhead is ignored. A max needs a limit, a min needs a request, a ratio
// needs both non-zero. Messages are upstream's, prefixed with the source and
// container; every violation of every source is reported, in a fixed order
// (upstream stops at the first failing LimitRange). A request the API server
// would refuse next to its limit is reported as limits.invalid, so offline
// evaluation does not admit a Pod the cluster refuses. Quantities are
// compared exactly.
package defaults
