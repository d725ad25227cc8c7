package defaults

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Words used for the two container lists, in messages and in the annotation
// (the same words the in-tree LimitRanger uses).
const (
	kindContainer     = "container"
	kindInitContainer = "init container"
)

// ctrRef points at one container of a Pod and knows how to name it.
type ctrRef struct {
	kind  string // kindContainer or kindInitContainer
	field string // spec.containers or spec.initContainers
	index int
	c     *corev1.Container
}

// containersOf lists spec.containers then spec.initContainers (regular and
// restartable sidecars alike), in order. Ephemeral containers are left out:
// they cannot carry resources and LimitRanger neither defaults nor checks them.
func containersOf(pod *corev1.Pod) []ctrRef {
	refs := make([]ctrRef, 0, len(pod.Spec.Containers)+len(pod.Spec.InitContainers))
	for i := range pod.Spec.Containers {
		refs = append(refs, ctrRef{kind: kindContainer, field: "spec.containers", index: i, c: &pod.Spec.Containers[i]})
	}
	for i := range pod.Spec.InitContainers {
		refs = append(refs, ctrRef{kind: kindInitContainer, field: "spec.initContainers", index: i, c: &pod.Spec.InitContainers[i]})
	}
	return refs
}

// who names the container for a message: `container "app"`.
func (r ctrRef) who() string { return fmt.Sprintf("%s %q", r.kind, r.c.Name) }

// path is the field path of one request or limit: list is "requests" or "limits".
func (r ctrRef) path(list string, name corev1.ResourceName) string {
	return fmt.Sprintf("%s[%d].resources.%s.%s", r.field, r.index, list, name)
}

// requestsFromLimits is the API server's Pod defaulting: every resource with
// a limit but no request gets request = limit. It runs at decode time, and
// again after every mutating webhook's patch, so emulating it makes the Pod
// we return (and check) the Pod the API server stores. It returns the names
// it filled.
func requestsFromLimits(c *corev1.Container) []corev1.ResourceName {
	return fillList(&c.Resources.Requests, c.Resources.Limits)
}

// overcommittable reports whether request and limit of a resource may
// differ. Hugepages and extended resources (a domain-qualified name outside
// kubernetes.io) may not: the API server rejects a Pod whose request and
// limit for them are not equal.
func overcommittable(name corev1.ResourceName) bool {
	n := string(name)
	if strings.HasPrefix(n, corev1.ResourceHugePagesPrefix) {
		return false
	}
	return !strings.Contains(n, "/") || strings.Contains(n, "kubernetes.io/")
}
