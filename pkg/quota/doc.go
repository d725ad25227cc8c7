// Package quota predicts what the in-tree ResourceQuota admission plugin
// will decide about a Pod, explains it in human units, warns before a quota
// fills up, and remembers recent admissions the quota status does not show
// yet (to warn about them, never to deny).
//
// # Why a prediction
//
// kube-apiserver runs validating webhooks before the in-tree ResourceQuota
// plugin, which is the exact, race-free enforcer: it serialises admissions
// per namespace and writes status.used with optimistic concurrency before
// the Pod is stored. This package cannot reserve anything; it reads the
// quotas (with status) from a cache and predicts. Its value is a clear
// message ("requests.cpu: requested 2, used 7.5 of 8 (0.5 free)") instead
// of the terse in-tree one, warnings before the wall, and an optional
// early deny. Never turn the in-tree plugin off because of it.
//
// # Rules (upstream semantics, kept on purpose)
//
//   - Only status.hard and status.used are read. A quota whose status is
//     still empty enforces nothing; one whose status.used lacks a
//     constrained resource is "status unknown" and denies, as upstream.
//   - A quota applies when status.hard names a resource a Pod can consume
//     (pods, count/pods, cpu, memory, ephemeral-storage, requests.* and
//     limits.* of those three, hugepages-*, requests.hugepages-*,
//     requests.<extended>) and the Pod is in all of its scopes (spec.scopes
//     and spec.scopeSelector are ANDed). limits.<extended>, a bare extended
//     name and limits.hugepages-* match nothing, as upstream.
//   - Scopes: Terminating means activeDeadlineSeconds is set (not
//     deletion); BestEffort comes from status.qosClass or, if unset, from
//     cpu/memory requests and limits; PriorityClass In/NotIn/Exists/
//     DoesNotExist treats a missing class as a missing label, so NotIn and
//     DoesNotExist match class-less Pods; CrossNamespacePodAffinity means a
//     pod (anti-)affinity term names namespaces or has a namespace selector.
//   - Usage comes from k8s.io/component-helpers/resource (init containers
//     as a max, sidecars stacked, pod-level resources, overhead added to
//     requests and to present limits) mapped to quota names as the in-tree
//     evaluator does. Terminal Pods (Succeeded, Failed) are charged only
//     count/pods. PodLevelResources and InPlacePodVerticalScaling are
//     assumed on (their defaults since 1.34 and 1.35).
//   - "must specify": a quota constraining cpu or memory requires every
//     container and init container to declare the matching request or
//     limit (0 counts), except when pod-level resources are set. The
//     message keeps the in-tree wording so people can search for it.
//   - Only resources the quota constrains and the Pod consumes with a
//     non-zero amount are compared, and used+requested must stay within
//     hard. A resource already over its hard does not block Pods that do
//     not consume it.
//   - UPDATE is looked at only when it can change usage: a resize of
//     resources, or activeDeadlineSeconds moving the Pod between the
//     Terminating and NotTerminating scopes. Quotas that matched the old
//     Pod are charged only the increase (decreases are never credited);
//     quotas the Pod newly enters are charged its full usage. Every other
//     update is never denied on quota grounds.
//
// # Divergences from the in-tree plugin
//
// Upstream stops at the first failing quota; Check reports every failing
// quota (in name order), each with all of its exceeded resources, because a
// user fixing one should not discover the next on the following try. The
// exceeded message is rewritten in human units. LimitedResources from the
// apiserver's admission configuration is not visible to a webhook and is
// not checked.
//
// # Modes and codes
//
// Options.Mode deny (default) turns predicted denials into reasons with
// codes quota.exceeded, quota.must-specify and quota.status-unknown; warn
// turns them into warnings that start with the same "<code>: " prefix;
// off does nothing. A resource the Pod consumes that ends at or above
// Options.WarnThreshold percent of hard yields a warning starting with
// "quota.near-limit: ". The Ledger adds "quota.pending-charges: " warnings
// (below) in every mode but off; they never deny.
//
// # The ledger
//
// Between an admission and the quota cache seeing the new status.used, a
// burst of Pods would each be compared with the same stale used. Ledger
// keeps, per namespace and quota, the charges of Pods this replica let
// through (allowed, non-dry-run CREATE). It never denies on its own: a Pod
// that fits status.used but not status.used plus those pending charges is
// admitted with a warning, code quota.pending-charges, that gives both
// figures and says the in-tree plugin decides. Denying on them would let
// anything the ledger cannot verify deny real Pods: a Pod another webhook
// or the in-tree plugin later refused, a retried call, a forged review.
//
// A charge is keyed by the Pod's metadata.uid, which the API server sets
// before admission and keeps across retries of one create, else by the
// AdmissionRequest's uid; a Pod already charged is not charged again and
// its own charge is not counted against it. When any other step of the
// same validating call denies (limits, policies, another quota),
// Ledger.Release gives the charge back; a malfunction happens before the
// charge is taken. A charge is dropped when the quota's status.used
// differs from the value it was recorded against (the in-tree plugin has
// written it) or after Options.LedgerTTL (30s by default). Checks are
// serialised per namespace, so of N concurrent Pods against one quota only
// those that fit pass without the warning. The ledger is per replica and
// best effort; the in-tree plugin remains exact.
//
// The package is pure: no client-go, no I/O, no wall clock (the Ledger's
// clock is injected).
package quota
