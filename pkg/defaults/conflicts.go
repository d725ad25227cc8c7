package defaults

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// annotationLimitRanger is where the in-tree LimitRanger lists what it set.
const annotationLimitRanger = "kubernetes.io/limit-ranger"

// conflictWarnings says when two LimitRanges set the same default (limit or
// request) of one resource to different values and this Pod took that
// default, from Tollgate or from the in-tree LimitRanger. Tollgate takes the
// first LimitRange by name; the in-tree plugin takes the first in its
// informer's order, which varies from one request to the next, so the
// stored Pod may carry either value.
func conflictWarnings(pod *corev1.Pod, srcs []source, set []setOn) []verdict.Warning {
	var lrs []source
	for _, s := range srcs {
		if !s.profile {
			lrs = append(lrs, s)
		}
	}
	if len(lrs) < 2 {
		return nil
	}
	took := func(kind string, name corev1.ResourceName) bool {
		for _, s := range set {
			names := s.requests
			if kind == "limit" {
				names = s.limits
			}
			for _, n := range names {
				if n == name {
					return true
				}
			}
		}
		return strings.Contains(pod.Annotations[annotationLimitRanger], string(name)+" "+kind)
	}
	var out []verdict.Warning
	for _, kind := range []string{"limit", "request"} {
		first := map[corev1.ResourceName]int{}
		warned := map[corev1.ResourceName]bool{}
		for i, s := range lrs {
			lims, reqs := s.containerDefaults()
			list := lims
			if kind == "request" {
				list = reqs
			}
			for _, name := range sortedNames(list) {
				j, seen := first[name]
				if !seen {
					first[name] = i
					continue
				}
				if warned[name] || !took(kind, name) {
					continue
				}
				winner := defaultOf(lrs[j], kind, name)
				if q := list[name]; q.Cmp(winner) != 0 {
					warned[name] = true
					out = append(out, verdict.Warning{Code: CodeConflict, Resources: []string{kind + "s." + string(name)}, Message: fmt.Sprintf(
						"LimitRanges %q and %q both set the default %s %s for containers (%s and %s): Tollgate uses %q (first by name), but the in-tree LimitRanger may pick either, so the stored Pod can differ",
						lrs[j].name, s.name, name, kind, winner.String(), q.String(), lrs[j].name)})
				}
			}
		}
	}
	return out
}

func defaultOf(s source, kind string, name corev1.ResourceName) resource.Quantity {
	lims, reqs := s.containerDefaults()
	if kind == "limit" {
		return lims[name]
	}
	return reqs[name]
}
