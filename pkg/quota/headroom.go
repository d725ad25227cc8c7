package quota

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
)

// Reason codes. Warnings carry the same codes as a "<code>: " prefix.
const (
	CodeExceeded      = "quota.exceeded"
	CodeMustSpecify   = "quota.must-specify"
	CodeStatusUnknown = "quota.status-unknown"
	CodeNearLimit     = "quota.near-limit"
)

// defaultWarnThreshold applies when Options.WarnThreshold is 0.
const defaultWarnThreshold = 90

// problem is a predicted in-tree denial, before the mode decides whether it
// denies or warns.
type problem struct {
	code, path, message string
}

// charge is what one quota is charged for the Pod, kept by the Ledger.
type charge struct {
	quota     string
	requested corev1.ResourceList // masked to the quota's hard, zeros removed
	used      corev1.ResourceList // status.used the prediction started from
}

// prediction is the outcome the in-tree plugin is expected to reach.
type prediction struct {
	problems  []problem
	nearLimit []string
	charges   []charge
}

// pendingFunc returns usage admitted but not yet visible in status.used.
type pendingFunc func(q *corev1.ResourceQuota) corev1.ResourceList

// predict runs the in-tree algorithm over the quotas in name order, but
// reports every failing quota instead of only the first one.
func predict(in Input, pending pendingFunc) prediction {
	var p prediction
	pod := in.Pod
	if pod == nil || !handled(in) {
		return p
	}
	newUsage := Usage(pod, in.Now)
	decl := declared(pod)
	var oldUsage corev1.ResourceList
	delta := in.Operation == "UPDATE" && in.OldPod.ResourceVersion != ""
	if delta {
		oldUsage = Usage(in.OldPod, in.Now)
	}
	for _, q := range sortedQuotas(in.Quotas, pod.Namespace) {
		if !matchesScopes(q, pod) {
			continue
		}
		constrained := podResourceNames(quotav1.ResourceNames(q.Status.Hard))
		if len(constrained) == 0 {
			continue // nothing here a Pod consumes (or status not filled yet)
		}
		if missing := decl.missing(constrained); missing != nil {
			p.problems = append(p.problems, problem{CodeMustSpecify, "spec", mustSpecifyMessage(q.Name, missing)})
			continue
		}
		if unknown := quotav1.Difference(constrained, quotav1.ResourceNames(q.Status.Used)); len(unknown) > 0 {
			p.problems = append(p.problems, problem{CodeStatusUnknown, "", fmt.Sprintf("status unknown for quota: %s, resources: %s", q.Name, joinNames(constrained))})
			continue
		}
		charge := newUsage
		if delta && matchesScopes(q, in.OldPod) {
			charge = quotav1.SubtractWithNonNegativeResult(newUsage, oldUsage)
		}
		requested := quotav1.RemoveZeros(quotav1.Mask(charge, constrained))
		if len(requested) == 0 {
			continue
		}
		var extra corev1.ResourceList
		if pending != nil {
			extra = quotav1.Mask(pending(q), constrained)
		}
		p.headroom(q, namespaceOf(q, pod), requested, extra, in.Options.WarnThreshold)
	}
	return p
}

// headroom compares used (+ pending) + requested with hard for the requested
// names only, so a resource already over its limit does not block Pods that
// do not consume it.
func (p *prediction) headroom(q *corev1.ResourceQuota, namespace string, requested, pending corev1.ResourceList, threshold int) {
	used := quotav1.Add(q.Status.Used, pending)
	names := quotav1.ResourceNames(requested)
	after := quotav1.Mask(quotav1.Add(used, requested), names)
	if ok, exceeded := quotav1.LessThanOrEqual(after, q.Status.Hard); !ok {
		p.problems = append(p.problems, problem{CodeExceeded, "", exceededMessage(q, namespace, requested, used, pending, exceeded)})
		return
	}
	p.charges = append(p.charges, charge{quota: q.Name, requested: requested, used: q.Status.Used.DeepCopy()})
	if threshold <= 0 {
		threshold = defaultWarnThreshold
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	for _, n := range names {
		hard, end := q.Status.Hard[n], after[n]
		if hard.Sign() <= 0 || end.AsApproximateFloat64()*100 < float64(threshold-1)*hard.AsApproximateFloat64() {
			continue // clearly below the threshold; skip the exact arithmetic
		}
		if pct := percent(end, hard); pct >= int64(threshold) {
			p.nearLimit = append(p.nearLimit, fmt.Sprintf("%s: quota %q: %s will be %s of %s (%d%%) after this Pod",
				CodeNearLimit, q.Name, n, formatQuantity(n, end), formatQuantity(n, hard), pct))
		}
	}
}

// handled mirrors which operations the in-tree evaluator looks at: every
// CREATE; an UPDATE only if it can change usage, i.e. resources were
// resized or activeDeadlineSeconds moved the Pod between the Terminating
// and NotTerminating scopes. Label, annotation or status updates never are.
func handled(in Input) bool {
	switch in.Operation {
	case "CREATE":
		return true
	case "UPDATE":
		if in.OldPod == nil {
			return false // the adapter always has the old object; nothing to compare
		}
		return isTerminating(in.OldPod) != isTerminating(in.Pod) || resized(in.OldPod, in.Pod)
	}
	return false
}

// resized reports whether any container's or the Pod's resources changed.
func resized(oldPod, newPod *corev1.Pod) bool {
	if !equality.Semantic.DeepEqual(oldPod.Spec.Resources, newPod.Spec.Resources) {
		return true
	}
	for _, pair := range [][2][]corev1.Container{
		{oldPod.Spec.Containers, newPod.Spec.Containers},
		{oldPod.Spec.InitContainers, newPod.Spec.InitContainers},
	} {
		if len(pair[0]) != len(pair[1]) {
			return true
		}
		for i := range pair[0] {
			if !equality.Semantic.DeepEqual(pair[0][i].Resources, pair[1][i].Resources) {
				return true
			}
		}
	}
	return false
}

// sortedQuotas returns the quotas of the Pod's namespace (quotas without a
// namespace are assumed to be in it) ordered by name, so messages are stable.
func sortedQuotas(quotas []corev1.ResourceQuota, namespace string) []*corev1.ResourceQuota {
	out := make([]*corev1.ResourceQuota, 0, len(quotas))
	for i := range quotas {
		if ns := quotas[i].Namespace; ns != "" && namespace != "" && ns != namespace {
			continue
		}
		out = append(out, &quotas[i])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// namespaceOf is the quota's namespace, or the Pod's when the quota has none.
func namespaceOf(q *corev1.ResourceQuota, pod *corev1.Pod) string {
	if q.Namespace != "" {
		return q.Namespace
	}
	return pod.Namespace
}

// mustSpecifyMessage uses the in-tree wording word for word, so people can
// search for it: failed quota: q: must specify limits.cpu for: a,b; ...
func mustSpecifyMessage(quota string, missing map[corev1.ResourceName][]string) string {
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, string(n))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+" for: "+strings.Join(missing[corev1.ResourceName(n)], ","))
	}
	return fmt.Sprintf("failed quota: %s: must specify %s", quota, strings.Join(parts, "; "))
}

// exceededMessage names the quota, its namespace and, for every exceeded
// resource, what was requested, used, hard and still free.
func exceededMessage(q *corev1.ResourceQuota, namespace string, requested, used, pending corev1.ResourceList, exceeded []corev1.ResourceName) string {
	sort.Slice(exceeded, func(i, j int) bool { return exceeded[i] < exceeded[j] })
	parts := make([]string, 0, len(exceeded))
	for _, n := range exceeded {
		hard, u := q.Status.Hard[n], used[n]
		free := hard.DeepCopy()
		free.Sub(u)
		if free.Sign() < 0 {
			free.Set(0)
		}
		part := fmt.Sprintf("%s: requested %s, used %s of %s (%s free",
			n, formatQuantity(n, requested[n]), formatQuantity(n, u), formatQuantity(n, hard), formatQuantity(n, free))
		if pq, ok := pending[n]; ok && !pq.IsZero() {
			part += fmt.Sprintf("; used includes %s admitted moments ago and not yet in quota status", formatQuantity(n, pq))
		}
		parts = append(parts, part+")")
	}
	return fmt.Sprintf("exceeded quota %q in namespace %q: %s", q.Name, namespace, strings.Join(parts, "; "))
}

// joinNames sorts and comma-joins resource names.
func joinNames(names []corev1.ResourceName) string {
	s := make([]string, 0, len(names))
	for _, n := range names {
		s = append(s, string(n))
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
