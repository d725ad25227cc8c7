package quota

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
)

// CopiesInput asks how many more Pods built from one template a namespace's
// quotas can take. It is a prediction about Pods that do not exist yet (a
// workload's replicas), so nothing is recorded in any Ledger.
type CopiesInput struct {
	// Pod is one copy, after defaults, with its namespace set.
	Pod *corev1.Pod
	// Copies is how many of them are about to be created.
	Copies int
	// Freed, when set, is a Pod of which FreedCopies copies go away while the
	// new ones start (the old replicas of a rollout); their usage is given
	// back to every quota whose scopes matched them.
	Freed       *corev1.Pod
	FreedCopies int
	// Quotas are the ResourceQuotas of the namespace, with status.
	Quotas []corev1.ResourceQuota
}

// Shortfall is one resource of one quota that cannot take every copy.
type Shortfall struct {
	Quota    string
	Resource corev1.ResourceName
	// Each is what one copy is charged, Need is Copies × Each.
	Each, Need resource.Quantity
	// Free is hard − used (+ freed), never negative.
	Free resource.Quantity
	// Fit is how many copies this resource alone lets through.
	Fit int
}

// Blocker is a predicted in-tree denial that no number of copies avoids
// (quota.must-specify, quota.status-unknown).
type Blocker struct {
	Code, Message string
	Resources     []string // the quota resources it is about
}

// Copies is the answer to a CopiesInput.
type Copies struct {
	// Fit is how many of the copies every quota lets through: Copies when
	// all fit, 0 when a Blocker applies.
	Fit int
	// Short lists, by quota then resource name, every resource that cannot
	// take all the copies.
	Short    []Shortfall
	Blockers []Blocker
}

// CheckCopies applies the in-tree rules of Check (scopes, must-specify,
// status unknown, only constrained and consumed resources) to Copies Pods at
// once, and says how many of them fit.
func CheckCopies(in CopiesInput) Copies {
	out := Copies{Fit: in.Copies}
	if in.Pod == nil || in.Copies <= 0 {
		out.Fit = max(in.Copies, 0)
		return out
	}
	each := Usage(in.Pod, time.Time{})
	decl := declared(in.Pod)
	var freed corev1.ResourceList
	if in.Freed != nil && in.FreedCopies > 0 {
		freed = times(Usage(in.Freed, time.Time{}), in.FreedCopies)
	}
	for _, q := range sortedQuotas(in.Quotas, in.Pod.Namespace) {
		if !matchesScopes(q, in.Pod) {
			continue
		}
		constrained := constrainedBy(nil, q.Status.Hard)
		if len(constrained) == 0 {
			continue
		}
		if pr, ok := blocked(q, decl, constrained); ok {
			out.Blockers = append(out.Blockers, Blocker{pr.code, pr.message, pr.resources})
			out.Fit = 0
			continue
		}
		used := q.Status.Used
		if freed != nil && matchesScopes(q, in.Freed) {
			used = quotav1.SubtractWithNonNegativeResult(used, freed)
		}
		charged := quotav1.RemoveZeros(quotav1.Mask(each, constrained))
		names := quotav1.ResourceNames(charged)
		sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
		for _, n := range names {
			free := q.Status.Hard[n].DeepCopy()
			free.Sub(used[n])
			if free.Sign() < 0 {
				free.Set(0)
			}
			one := charged[n]
			fit := fitting(free, one, in.Copies)
			if fit >= in.Copies {
				continue
			}
			out.Short = append(out.Short, Shortfall{
				Quota: q.Name, Resource: n, Each: one, Need: times1(one, in.Copies), Free: free, Fit: fit,
			})
			out.Fit = min(out.Fit, fit)
		}
	}
	return out
}

// FormatQuantity writes a quantity of a quota resource in human units, as
// the quota messages do (cores for cpu, binary units for bytes).
func FormatQuantity(name corev1.ResourceName, q resource.Quantity) string {
	return formatQuantity(name, q)
}

// fitting is the largest k ≤ limit with k × each ≤ free (each > 0).
func fitting(free, each resource.Quantity, limit int) int {
	if each.Sign() <= 0 {
		return limit
	}
	guess := int(free.AsApproximateFloat64() / each.AsApproximateFloat64())
	guess = max(min(guess+1, limit), 0)
	for guess > 0 {
		if need := times1(each, guess); need.Cmp(free) <= 0 {
			break
		}
		guess-- // float division can be one off; the exact product decides
	}
	return guess
}

// times multiplies every quantity of a list by n.
func times(l corev1.ResourceList, n int) corev1.ResourceList {
	out := make(corev1.ResourceList, len(l))
	for k, v := range l {
		out[k] = times1(v, n)
	}
	return out
}

func times1(q resource.Quantity, n int) resource.Quantity {
	out := q.DeepCopy()
	out.Mul(int64(n))
	return out
}
