// Package workload checks the Pods a workload will create when the
// workload itself is applied, so that a quota or policy problem shows up in
// `kubectl apply` instead of as a ReplicaSet that silently fails to create
// Pods (kubernetes#25146).
//
// # What is checked
//
// Deployments, StatefulSets, DaemonSets, ReplicaSets (apps/v1),
// ReplicationControllers (v1), Jobs and CronJobs (batch/v1, a CronJob's
// template is spec.jobTemplate.spec.template), and the scale subresource
// (autoscaling/v1 Scale) of deployments, statefulsets and replicasets.
// From the template the package builds the Pod a controller would create
// (namespace, labels, annotations, spec) and runs the Pod decisions on it:
// LimitRange and profile defaults on a copy (never patched into the
// template, the Pod webhook does that when the Pod is created), then
// limits (min/max/ratio), policies (as a CREATE by the requesting user),
// and quota with the workload's arithmetic:
//
//   - replicas × the Pod's usage; for Jobs, parallelism capped by
//     completions; for a DaemonSet, one Pod (the node count is not known
//     here, so only a quota that cannot take even one Pod is reported);
//   - a Deployment rollout first starts maxSurge new Pods (resolved against
//     replicas, percentages rounded up) while every old Pod runs, and in the
//     end runs replicas new Pods with the old ones gone; a StatefulSet
//     rollout has only the end state; a ReplicaSet or ReplicationController
//     template change replaces no running Pod.
//
// Quota answers are predictions for Pods that do not exist yet: they are
// computed by quota.CheckCopies and never recorded in the Pod webhook's
// ledger. Messages say how many Pods fit ("2 replicas fit, 1 will fail to
// start") so the user can size the workload or the quota directly.
//
// # Updates
//
// Only what can start Pods is looked at, so unrelated edits (labels,
// annotations, paused, …) say nothing: a replica increase is checked for
// the new replicas only, a decrease never; a template change re-checks the
// whole template and the rollout; a scale subresource update is checked on
// its replica increase, with the target's template read through Targets.
//
// # Modes
//
// Each check has a Mode (Options): warn (the default) makes admission
// warnings, deny refuses the workload, off skips it. Deny for policies
// applies only to reasons of policies whose action is deny, i.e. Pods
// that would certainly be refused; policy warnings stay warnings.
//
// The package imports no client-go, controller-runtime, net/http or os:
// facts come in through the Facts and Targets interfaces.
package workload
