package quota

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Reason and warning codes. A warning's message also starts with its code
// and ": ", as users have always seen it.
const (
	CodeExceeded      = "quota.exceeded"
	CodeMustSpecify   = "quota.must-specify"
	CodeStatusUnknown = "quota.status-unknown"
	CodeNearLimit     = "quota.near-limit"
	// CodePendingCharges warns that a Pod fits status.used but not
	// status.used plus the Ledger's pending charges; it never denies.
	CodePendingCharges = "quota.pending-charges"
)

// defaultWarnThreshold applies when Options.WarnThreshold is 0.
const defaultWarnThreshold = 90

// problem is a predicted in-tree denial, before the mode decides whether it
// denies or warns.
type problem struct {
	code, path, message string
	resources           []string // the quota resources it is about
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
	nearLimit []verdict.Warning
	pending   []verdict.Warning // quota.pending-charges warnings
	charges   []charge
}

// pendingFunc returns usage admitted but not yet visible in status.used.
type pendingFunc func(q *corev1.ResourceQuota) corev1.ResourceList

// amount is what one quota resource is charged for the Pod.
type amount struct {
	name corev1.ResourceName
	q    resource.Quantity
}

// predict runs the in-tree algorithm over the quotas in name order, but
// reports every failing quota instead of only the first one. Charges are
// kept only when record is set (the Ledger is about to remember them).
//
// It works name by name on the quota's constrained names rather than
// through quotav1's list arithmetic, which builds several maps per quota;
// the sums are taken in the same order, so values and formats match.
func predict(in Input, pending pendingFunc, record bool) prediction {
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
	var constrained []corev1.ResourceName
	var requested []amount
	for _, q := range sortedQuotas(in.Quotas, pod.Namespace) {
		if !matchesScopes(q, pod) {
			continue
		}
		constrained = constrainedBy(constrained[:0], q.Status.Hard)
		if len(constrained) == 0 {
			continue // nothing here a Pod consumes (or status not filled yet)
		}
		if pr, ok := blocked(q, decl, constrained); ok {
			p.problems = append(p.problems, pr)
			continue
		}
		requested = chargeFor(requested[:0], constrained, newUsage, oldUsage, delta && matchesScopes(q, in.OldPod))
		if len(requested) == 0 {
			continue
		}
		var extra corev1.ResourceList
		if pending != nil {
			extra = pending(q)
		}
		p.headroom(q, namespaceOf(q, pod), requested, extra, in.Options.WarnThreshold, record)
	}
	return p
}

// blocked is the in-tree denial no headroom avoids: a container that does
// not declare what the quota constrains, or a quota whose status.used does
// not cover every constrained name yet.
func blocked(q *corev1.ResourceQuota, decl declarations, constrained []corev1.ResourceName) (problem, bool) {
	if missing := decl.missing(constrained); missing != nil {
		msg, names := mustSpecifyMessage(q.Name, missing)
		return problem{CodeMustSpecify, "spec", msg, names}, true
	}
	if !hasAll(q.Status.Used, constrained) {
		names := sortedNames(constrained)
		return problem{CodeStatusUnknown, "", fmt.Sprintf("status unknown for quota: %s, resources: %s", q.Name, strings.Join(names, ",")), names}, true
	}
	return problem{}, false
}

// hasAll reports whether list has every name.
func hasAll(list corev1.ResourceList, names []corev1.ResourceName) bool {
	for _, n := range names {
		if _, ok := list[n]; !ok {
			return false
		}
	}
	return true
}

// chargeFor appends to dst, per constrained name, what the quota is charged:
// the new usage, or with subtract the part above the old usage
// (quotav1.SubtractWithNonNegativeResult); zeros are left out.
func chargeFor(dst []amount, constrained []corev1.ResourceName, newUsage, oldUsage corev1.ResourceList, subtract bool) []amount {
	for _, n := range constrained {
		nq, ok := newUsage[n]
		if !subtract {
			if ok && !nq.IsZero() {
				dst = append(dst, amount{n, nq.DeepCopy()})
			}
			continue
		}
		if !ok {
			continue // only in the old usage: charged zero
		}
		c := nq.DeepCopy()
		if oq, found := oldUsage[n]; found {
			c.Sub(oq)
		}
		if c.Sign() > 0 {
			dst = append(dst, amount{n, c})
		}
	}
	return dst
}

// headroom compares used + requested with hard for the requested names
// only, so a resource already over its limit does not block Pods that do
// not consume it. Pending charges (the Ledger's) never make a problem: a
// Pod that fits status.used but not status.used plus pending gets a
// quota.pending-charges warning, since only the in-tree plugin knows
// whether those charges are real.
func (p *prediction) headroom(q *corev1.ResourceQuota, namespace string, requested []amount, pending corev1.ResourceList, threshold int, record bool) {
	for _, r := range requested {
		if end := after(q, nil, r); end.Cmp(q.Status.Hard[r.name]) > 0 {
			msg, names := exceededBy(q, namespace, requested)
			p.problems = append(p.problems, problem{CodeExceeded, "", msg, names})
			return
		}
	}
	if record {
		list := make(corev1.ResourceList, len(requested))
		for _, r := range requested {
			list[r.name] = r.q.DeepCopy()
		}
		p.charges = append(p.charges, charge{quota: q.Name, requested: list, used: q.Status.Used.DeepCopy()})
	}
	for _, r := range requested {
		if end := after(q, pending, r); end.Cmp(q.Status.Hard[r.name]) > 0 {
			msg, names := pendingBy(q, namespace, requested, pending)
			p.pending = append(p.pending, verdict.Warning{Code: CodePendingCharges, Resources: names, Message: msg})
			return // the pending warning already says the quota is full
		}
	}
	p.warnNear(q, requested, pending, threshold)
}

// warnNear adds a quota.near-limit warning per requested resource that ends
// at or past threshold percent of hard, pending charges included.
func (p *prediction) warnNear(q *corev1.ResourceQuota, requested []amount, pending corev1.ResourceList, threshold int) {
	if threshold <= 0 {
		threshold = defaultWarnThreshold
	}
	for _, r := range requested {
		hard, end := q.Status.Hard[r.name], after(q, pending, r)
		if hard.Sign() <= 0 || end.AsApproximateFloat64()*100 < float64(threshold-1)*hard.AsApproximateFloat64() {
			continue // clearly below the threshold; skip the exact arithmetic
		}
		if pct := percent(end, hard); pct >= int64(threshold) {
			p.nearLimit = append(p.nearLimit, verdict.Warning{Code: CodeNearLimit, Resources: []string{string(r.name)},
				Message: fmt.Sprintf("%s: quota %q: %s will be %s of %s (%d%%) after this Pod",
					CodeNearLimit, q.Name, r.name, formatQuantity(r.name, end), formatQuantity(r.name, hard), pct)})
		}
	}
}

// after is what quotav1.Add(quotav1.Add(used, pending), requested) holds
// for r: the quota's use once the Pod is admitted.
func after(q *corev1.ResourceQuota, pending corev1.ResourceList, r amount) resource.Quantity {
	used, ok := sum(q.Status.Used, pending, r.name)
	if !ok {
		return r.q.DeepCopy()
	}
	used.Add(r.q)
	return used
}

// sum is quotav1.Add(a, b)[name]: a copy of a's quantity plus b's, or of
// whichever list has the name; ok is false when neither has.
func sum(a, b corev1.ResourceList, name corev1.ResourceName) (resource.Quantity, bool) {
	aq, aok := a[name]
	bq, bok := b[name]
	switch {
	case aok:
		out := aq.DeepCopy()
		if bok {
			out.Add(bq)
		}
		return out, true
	case bok:
		return bq.DeepCopy(), true
	}
	return resource.Quantity{}, false
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
	slices.SortStableFunc(out, func(a, b *corev1.ResourceQuota) int { return strings.Compare(a.Name, b.Name) })
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
// It also returns the missing names, sorted.
func mustSpecifyMessage(quota string, missing map[corev1.ResourceName][]string) (string, []string) {
	names := make([]string, 0, len(missing))
	for n := range missing {
		names = append(names, string(n))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+" for: "+strings.Join(missing[corev1.ResourceName(n)], ","))
	}
	return fmt.Sprintf("failed quota: %s: must specify %s", quota, strings.Join(parts, "; ")), names
}

// exceededBy names the quota, its namespace and, for every requested
// resource that ends past hard (in name order), what was requested, used,
// hard and still free. It also returns those resources' names.
func exceededBy(q *corev1.ResourceQuota, namespace string, requested []amount) (string, []string) {
	var parts, names []string
	for _, r := range requested {
		n, hard := r.name, q.Status.Hard[r.name]
		if end := after(q, nil, r); end.Cmp(hard) <= 0 {
			continue
		}
		u := q.Status.Used[n]
		names = append(names, string(n))
		parts = append(parts, fmt.Sprintf("%s: requested %s, used %s of %s (%s free)",
			n, formatQuantity(n, r.q), formatQuantity(n, u), formatQuantity(n, hard), formatQuantity(n, free(hard, u))))
	}
	return fmt.Sprintf("exceeded quota %q in namespace %q: %s", q.Name, namespace, strings.Join(parts, "; ")), names
}

// pendingBy is the quota.pending-charges warning: for every requested
// resource that fits status.used but not status.used plus pending, the
// numbers, then who decides. It also returns those resources' names.
func pendingBy(q *corev1.ResourceQuota, namespace string, requested []amount, pending corev1.ResourceList) (string, []string) {
	var parts, names []string
	for _, r := range requested {
		n, hard := r.name, q.Status.Hard[r.name]
		if end := after(q, pending, r); end.Cmp(hard) <= 0 {
			continue
		}
		u, pq := q.Status.Used[n], pending[n]
		names = append(names, string(n))
		parts = append(parts, fmt.Sprintf("%s: requested %s, used %s of %s in quota status (%s free), plus %s pending",
			n, formatQuantity(n, r.q), formatQuantity(n, u), formatQuantity(n, hard), formatQuantity(n, free(hard, u)), formatQuantity(n, pq)))
	}
	return fmt.Sprintf("%s: quota %q in namespace %q: %s; the Pod fits status.used but not status.used plus the charges still pending "+
		"from Pods admitted moments ago, so Tollgate admits it and the in-tree ResourceQuota decides",
		CodePendingCharges, q.Name, namespace, strings.Join(parts, "; ")), names
}

// free is hard minus used, never below zero.
func free(hard, used resource.Quantity) resource.Quantity {
	f := hard.DeepCopy()
	f.Sub(used)
	if f.Sign() < 0 {
		f.Set(0)
	}
	return f
}

// sortedNames is the resource names as sorted strings.
func sortedNames(names []corev1.ResourceName) []string {
	s := make([]string, 0, len(names))
	for _, n := range names {
		s = append(s, string(n))
	}
	sort.Strings(s)
	return s
}
