package defaults

import (
	"fmt"
	"math/big"
	"math/bits"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Reason codes Validate returns.
const (
	// CodeMin: a request or limit is below a min.
	CodeMin = "limits.min"
	// CodeMax: a request or limit is above a max.
	CodeMax = "limits.max"
	// CodeRatio: limit/request is above maxLimitRequestRatio, or one of them is 0.
	CodeRatio = "limits.ratio"
	// CodeMissing: a min (or ratio) needs a request, a max (or ratio) needs a limit.
	CodeMissing = "limits.missing"
	// CodeInvalid: request above limit (or unequal where overcommit is not
	// allowed); the API server itself rejects such a Pod.
	CodeInvalid = "limits.invalid"
)

// Validate checks min, max and maxLimitRequestRatio of every Container and
// Pod item of every source and returns one reason per violation. It checks
// the Pod as given, which in the validating webhook is the final object; the
// only thing it adds (to a copy) is the API server's request = limit
// defaulting, which every stored Pod has had.
//
// Unlike upstream, which stops at the first LimitRange with errors and
// orders messages by Go map order, Validate reports every violation of every
// source, in a fixed order: sources as in Apply, items in order, containers
// then init containers, and per item min, max, ratio by resource name.
func Validate(pod *corev1.Pod, in Inputs) verdict.Verdict {
	var v verdict.Verdict
	srcs := sources(in)
	if pod == nil || len(srcs) == 0 {
		return v
	}
	pod = withDefaultedRequests(pod)
	ctrs := containersOf(pod)
	for _, r := range ctrs {
		checkFits(&v, r)
	}
	podReq, podLim, fromPod := podTotals(pod)
	podPath := func(list string, name corev1.ResourceName) string {
		if fromPod[list+"/"+string(name)] {
			return fmt.Sprintf("spec.resources.%s.%s", list, name)
		}
		return fmt.Sprintf("spec.containers[*].resources.%s.%s", list, name)
	}
	for _, s := range srcs {
		for _, it := range s.items {
			switch it.Type {
			case corev1.LimitTypeContainer:
				names := itemNamesOf(it)
				for _, r := range ctrs {
					b := bounds{v: &v, prefix: func() string { return s.label() + ": " + r.who() + ": " }, per: "Container", path: r.path}
					b.check(it, names, r.c.Resources.Requests, r.c.Resources.Limits)
				}
			case corev1.LimitTypePod:
				b := bounds{v: &v, prefix: func() string { return s.label() + ": " }, per: "Pod", path: podPath}
				b.check(it, itemNamesOf(it), podReq, podLim)
			}
		}
	}
	return v
}

// withDefaultedRequests returns pod, or a copy of it whose containers have
// the API server's request = limit defaulting applied. Only the request
// lists that change are copied; Validate reads the rest as it is.
func withDefaultedRequests(pod *corev1.Pod) *corev1.Pod {
	var cp *corev1.Pod
	fill := func(cs []corev1.Container, set func([]corev1.Container)) {
		copied := false
		for i := range cs {
			if !lacksRequest(&cs[i]) {
				continue
			}
			if cp == nil {
				c := *pod
				cp = &c
			}
			if !copied {
				cs = append([]corev1.Container(nil), cs...)
				set(cs)
				copied = true
			}
			cs[i].Resources.Requests = cs[i].Resources.Requests.DeepCopy()
			requestsFromLimits(&cs[i])
		}
	}
	fill(pod.Spec.Containers, func(cs []corev1.Container) { cp.Spec.Containers = cs })
	fill(pod.Spec.InitContainers, func(cs []corev1.Container) { cp.Spec.InitContainers = cs })
	if cp == nil {
		return pod
	}
	return cp
}

// lacksRequest reports a limit without its request.
func lacksRequest(c *corev1.Container) bool {
	for name := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[name]; !ok {
			return true
		}
	}
	return false
}

// itemNames are an item's bounded resource names, sorted once per item
// rather than once per container.
type itemNames struct {
	min, max, ratio []corev1.ResourceName
}

func itemNamesOf(it corev1.LimitRangeItem) itemNames {
	return itemNames{min: sortedNames(it.Min), max: sortedNames(it.Max), ratio: sortedNames(it.MaxLimitRequestRatio)}
}

// checkFits reports a request the API server would refuse next to its limit
// (it answers 422 before any validating webhook runs). This is how a
// LimitRange default limit below an explicit request ends (kubernetes#51430);
// reporting it keeps `tollgate eval` from admitting a Pod the cluster refuses.
func checkFits(v *verdict.Verdict, r ctrRef) {
	for _, name := range sortedNames(r.c.Resources.Requests) {
		req := r.c.Resources.Requests[name]
		lim, ok := r.c.Resources.Limits[name]
		if !ok || limitFits(name, req, lim) {
			continue
		}
		rel := "less than or equal to"
		if !overcommittable(name) {
			rel = "equal to"
		}
		v.Reasons = append(v.Reasons, verdict.Reason{Code: CodeInvalid, Path: r.path("requests", name),
			Resources: []string{"requests." + string(name), "limits." + string(name)},
			Message:   fmt.Sprintf("%s: %s request %s must be %s %s limit of %s", r.who(), name, req.String(), rel, name, lim.String())})
	}
}

// bounds checks one item against one set of requests and limits, wording
// messages as the in-tree LimitRanger does ("per Container" / "per Pod").
type bounds struct {
	v *verdict.Verdict
	// prefix names the source (and container); built only for a denial.
	prefix func() string
	per    string
	path   func(list string, name corev1.ResourceName) string
}

// check runs the min, max and ratio constraints of it, in that order.
func (b bounds) check(it corev1.LimitRangeItem, names itemNames, req, lim corev1.ResourceList) {
	for _, name := range names.min {
		b.min(name, it.Min[name], req, lim)
	}
	for _, name := range names.max {
		b.max(name, it.Max[name], req, lim)
	}
	for _, name := range names.ratio {
		b.ratio(name, it.MaxLimitRequestRatio[name], req, lim)
	}
}

// deny records one violation, about the resource as "<list>.<name>".
func (b bounds) deny(code, list string, name corev1.ResourceName, format string, args ...any) {
	b.v.Reasons = append(b.v.Reasons, verdict.Reason{Code: code, Path: b.path(list, name),
		Resources: []string{list + "." + string(name)}, Message: b.prefix() + fmt.Sprintf(format, args...)})
}

// min: a request must exist and be ≥ min; a limit, if any, must be ≥ min.
func (b bounds) min(name corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) {
	r, hasReq := req[name]
	l, hasLim := lim[name]
	switch {
	case !hasReq:
		b.deny(CodeMissing, "requests", name, "minimum %s usage per %s is %s.  No request is specified", name, b.per, bound.String())
	case r.Cmp(bound) < 0:
		b.deny(CodeMin, "requests", name, "minimum %s usage per %s is %s, but request is %s", name, b.per, bound.String(), r.String())
	case hasLim && l.Cmp(bound) < 0:
		b.deny(CodeMin, "limits", name, "minimum %s usage per %s is %s, but limit is %s", name, b.per, bound.String(), l.String())
	}
}

// max: a limit must exist and be ≤ max; a request, if any, must be ≤ max.
func (b bounds) max(name corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) {
	r, hasReq := req[name]
	l, hasLim := lim[name]
	switch {
	case !hasLim:
		b.deny(CodeMissing, "limits", name, "maximum %s usage per %s is %s.  No limit is specified", name, b.per, bound.String())
	case l.Cmp(bound) > 0:
		b.deny(CodeMax, "limits", name, "maximum %s usage per %s is %s, but limit is %s", name, b.per, bound.String(), l.String())
	case hasReq && r.Cmp(bound) > 0:
		b.deny(CodeMax, "requests", name, "maximum %s usage per %s is %s, but request is %s", name, b.per, bound.String(), r.String())
	}
}

// ratio: request and limit must both be non-zero and limit/request ≤ ratio.
// Compared exactly (limit > request × ratio in rational arithmetic, as
// upstream master does since #141348); the ratio prints with 6 decimals.
func (b bounds) ratio(name corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) {
	r, hasReq := req[name]
	l, hasLim := lim[name]
	const head = "%s max limit to request ratio per %s is %s, but "
	switch {
	case !hasReq || r.IsZero():
		b.deny(codeFor(hasReq, CodeMissing, CodeRatio), "requests", name, head+"no request is specified or request is 0", name, b.per, bound.String())
	case !hasLim || l.IsZero():
		b.deny(codeFor(hasLim, CodeMissing, CodeRatio), "limits", name, head+"no limit is specified or limit is 0", name, b.per, bound.String())
	default:
		if above, exact := ratioAbove(l, r, bound); exact && !above {
			return
		}
		observed := new(big.Rat).Quo(rat(l), rat(r))
		if observed.Cmp(rat(bound)) > 0 {
			b.deny(CodeRatio, "limits", name, head+"provided ratio is %s", name, b.per, bound.String(), observed.FloatString(6))
		}
	}
}

// ratioAbove decides lim/req > bound without big numbers when all three are
// positive whole multiples of 1/1000: 1000·lim > req·bound in milli-units,
// with 128-bit products. exact is false when it cannot tell.
func ratioAbove(lim, req, bound resource.Quantity) (above, exact bool) {
	var m [3]uint64
	for i, q := range [...]resource.Quantity{lim, req, bound} {
		v := q.MilliValue()
		if v <= 0 || resource.NewMilliQuantity(v, resource.DecimalSI).Cmp(q) != 0 {
			return false, false
		}
		m[i] = uint64(v)
	}
	lhi, llo := bits.Mul64(m[0], 1000)
	rhi, rlo := bits.Mul64(m[1], m[2])
	return lhi > rhi || (lhi == rhi && llo > rlo), true
}

// codeFor picks CodeRatio for a value that is present but zero and
// CodeMissing for one that is absent.
func codeFor(present bool, missing, zero string) string {
	if present {
		return zero
	}
	return missing
}

// rat converts a quantity to an exact rational.
func rat(q resource.Quantity) *big.Rat {
	r, ok := new(big.Rat).SetString(q.AsDec().String())
	if !ok {
		return new(big.Rat)
	}
	return r
}
