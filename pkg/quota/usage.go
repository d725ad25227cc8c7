package quota

import (
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	resourcehelper "k8s.io/component-helpers/resource"
)

// countPods is the object-count name for pods; it counts every stored Pod,
// terminal ones included.
const countPods corev1.ResourceName = "count/pods"

// deviceClassRequestsPrefix marks DRA implicit extended resources in quota.
const deviceClassRequestsPrefix = corev1.DefaultResourceRequestsPrefix + "deviceclass.resource.kubernetes.io/"

// computeNames are the fixed quota names a Pod can consume.
var computeNames = []corev1.ResourceName{
	corev1.ResourcePods,
	countPods,
	corev1.ResourceCPU,
	corev1.ResourceMemory,
	corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU,
	corev1.ResourceRequestsMemory,
	corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU,
	corev1.ResourceLimitsMemory,
	corev1.ResourceLimitsEphemeralStorage,
}

// mustSpecifyNames are the only quota names that force every container to
// declare the matching request or limit (an upstream rule kept for
// compatibility, never extended to other resources).
var mustSpecifyNames = []corev1.ResourceName{
	corev1.ResourceCPU,
	corev1.ResourceMemory,
	corev1.ResourceRequestsCPU,
	corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU,
	corev1.ResourceLimitsMemory,
}

// podUsageOptions are the ones the in-tree evaluator uses on a cluster where
// InPlacePodVerticalScaling (GA) and PodLevelResources (beta, on) are enabled.
// Status resources only matter for existing Pods, i.e. resize.
var podUsageOptions = resourcehelper.PodResourcesOptions{UseStatusResources: true}

// Usage returns every quota resource the Pod consumes, the way the in-tree
// ResourceQuota evaluator measures it: count/pods always; nothing else for a
// terminal Pod or one whose deletion grace ran out before now (a zero now
// skips that last test); otherwise pods, cpu/memory/ephemeral-storage (the
// requests), requests.*, limits.*, hugepages-* and requests.<extended>.
// Requests and limits come from component-helpers (init containers,
// sidecars, pod-level resources, overhead).
func Usage(pod *corev1.Pod, now time.Time) corev1.ResourceList {
	if !charged(pod, now) {
		return corev1.ResourceList{countPods: *resource.NewQuantity(1, resource.DecimalSI)}
	}
	requests := resourcehelper.PodRequests(pod, podUsageOptions)
	limits := resourcehelper.PodLimits(pod, podUsageOptions)
	usage := computeUsage(requests, limits)
	// computeUsage never yields count/pods, so this is the sum of both.
	usage[countPods] = *resource.NewQuantity(1, resource.DecimalSI)
	return usage
}

// charged reports whether compute resources of the Pod count against quota.
// Upstream releases a deleting Pod only after deletionTimestamp plus the
// grace period, which is about twice the grace; we keep that.
func charged(pod *corev1.Pod, now time.Time) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && pod.DeletionGracePeriodSeconds != nil && !now.IsZero() {
		grace := time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		if now.After(pod.DeletionTimestamp.Add(grace)) {
			return false
		}
	}
	return true
}

// computeUsage maps requests and limits (of a Pod or of one container) to
// quota names. Only keys that are present produce a name, so an explicit 0
// counts as specified.
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)}
	pairs := [...]struct{ base, req, lim corev1.ResourceName }{
		{corev1.ResourceCPU, corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU},
		{corev1.ResourceMemory, corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory},
		{corev1.ResourceEphemeralStorage, corev1.ResourceRequestsEphemeralStorage, corev1.ResourceLimitsEphemeralStorage},
	}
	for _, p := range pairs {
		if q, ok := requests[p.base]; ok {
			out[p.base] = q
			out[p.req] = q
		}
		if q, ok := limits[p.base]; ok {
			out[p.lim] = q
		}
	}
	for name, q := range requests {
		switch {
		case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			// Hugepages cannot be overcommitted: no limits.* name exists.
			out[name] = q
			out[corev1.DefaultResourceRequestsPrefix+name] = q
		case isExtended(name):
			// Extended resources are quota'd only as requests.<name>.
			out[corev1.DefaultResourceRequestsPrefix+name] = q
		}
	}
	return out
}

// isExtended reports whether a container resource is an extended resource
// (outside the kubernetes.io domain) or a DRA implicit extended resource.
func isExtended(name corev1.ResourceName) bool {
	s := string(name)
	if strings.HasPrefix(s, "deviceclass.resource.kubernetes.io/") {
		return true
	}
	if isNative(name) || strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+s)) == 0
}

// isNative reports whether a name is in the kubernetes.io domain (unprefixed
// names are, implicitly).
func isNative(name corev1.ResourceName) bool {
	s := string(name)
	return !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
}

// constrainedBy appends to dst, sorted, the names of hard a Pod can
// consume; the rest of a quota (services, limits.nvidia.com/gpu, a bare
// nvidia.com/gpu, limits.hugepages-*) is ignored, as upstream does.
func constrainedBy(dst []corev1.ResourceName, hard corev1.ResourceList) []corev1.ResourceName {
	for n := range hard {
		s := string(n)
		switch {
		case slices.Contains(computeNames, n),
			strings.HasPrefix(s, corev1.ResourceHugePagesPrefix),
			strings.HasPrefix(s, corev1.ResourceRequestsHugePagesPrefix),
			strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix) && (!isNative(n) || strings.HasPrefix(s, deviceClassRequestsPrefix)):
			dst = append(dst, n)
		}
	}
	slices.Sort(dst)
	return dst
}

// declarations are the containers and init containers (sidecars too) whose
// own requests and limits the upstream "must specify" rule looks at.
type declarations struct {
	podLevel bool // pod-level resources are set: the rule is skipped
	ctrs     []*corev1.Container
}

// declared computes the declarations of a Pod once for all its quotas.
func declared(pod *corev1.Pod) declarations {
	d := declarations{podLevel: resourcehelper.IsPodLevelResourcesSet(pod)}
	if d.podLevel {
		return d
	}
	d.ctrs = make([]*corev1.Container, 0, len(pod.Spec.Containers)+len(pod.Spec.InitContainers))
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			d.ctrs = append(d.ctrs, &cs[i])
		}
	}
	return d
}

// declares reports whether the container's own requests or limits produce
// the must-specify name (computeUsage's mapping; an explicit 0 counts).
func declares(c *corev1.Container, name corev1.ResourceName) bool {
	var list corev1.ResourceList
	var base corev1.ResourceName
	switch name {
	case corev1.ResourceCPU, corev1.ResourceRequestsCPU:
		list, base = c.Resources.Requests, corev1.ResourceCPU
	case corev1.ResourceMemory, corev1.ResourceRequestsMemory:
		list, base = c.Resources.Requests, corev1.ResourceMemory
	case corev1.ResourceLimitsCPU:
		list, base = c.Resources.Limits, corev1.ResourceCPU
	case corev1.ResourceLimitsMemory:
		list, base = c.Resources.Limits, corev1.ResourceMemory
	default:
		return true // not a must-specify name
	}
	_, ok := list[base]
	return ok
}

// missing implements the upstream "must specify" rule: when a quota
// constrains cpu or memory, every container and init container must declare
// the request or limit that produces the name (an explicit 0 counts). It
// returns, per missing quota name, the sorted container names; nil when
// nothing is missing or the Pod sets pod-level resources.
func (d declarations) missing(constrained []corev1.ResourceName) map[corev1.ResourceName][]string {
	if d.podLevel {
		return nil
	}
	var out map[corev1.ResourceName][]string
	for _, name := range constrained {
		if !slices.Contains(mustSpecifyNames, name) {
			continue
		}
		for _, c := range d.ctrs {
			if declares(c, name) {
				continue
			}
			if out == nil {
				out = map[corev1.ResourceName][]string{}
			}
			out[name] = append(out[name], c.Name)
		}
	}
	for name := range out {
		sort.Strings(out[name])
	}
	return out
}
