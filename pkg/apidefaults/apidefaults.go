// Package apidefaults applies the API server's own defaulting of a Pod: what
// kube-apiserver fills before any admission plugin sees the Pod, and again
// after each mutating webhook's patch. The webhooks receive Pods defaulted
// already; `tollgate eval` and `tollgate test` read Pods from files, so
// they apply it first, or they would check a Pod the cluster never stores.
//
// Only the fields that decisions read or that eval shows as "what the
// cluster stores" in resources and pull policies are covered: requests from
// limits (containers, init containers, pod-level resources), image pull
// policies (every container kind and image volumes), and the Pod fields the
// API server always fills (restartPolicy, dnsPolicy, schedulerName,
// terminationGracePeriodSeconds, enableServiceLinks, securityContext,
// terminationMessagePath/Policy). Applying it twice changes nothing.
package apidefaults

import (
	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/tollgate-dev/tollgate/pkg/podimages"
)

// Pod defaults pod in place.
func Pod(pod *corev1.Pod) {
	for i := range pod.Spec.Containers {
		container(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		container(&pod.Spec.InitContainers[i])
	}
	// Ephemeral containers get pull policy and termination message
	// defaults, but not requests from limits (they have no resources).
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i].EphemeralContainerCommon
		pullPolicy(&c.ImagePullPolicy, c.Image)
		terminationMessage(&c.TerminationMessagePath, &c.TerminationMessagePolicy)
	}
	for i := range pod.Spec.Volumes {
		if img := pod.Spec.Volumes[i].Image; img != nil {
			pullPolicy(&img.PullPolicy, img.Reference)
		}
	}
	// After the containers: the pod-level default sums their requests.
	podRequests(pod)
	spec(&pod.Spec)
}

// container: a resource with a limit and no request gets request = limit.
func container(c *corev1.Container) {
	if c.Resources.Limits != nil {
		if c.Resources.Requests == nil {
			c.Resources.Requests = corev1.ResourceList{}
		}
		for name, lim := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[name]; !ok {
				c.Resources.Requests[name] = lim.DeepCopy()
			}
		}
	}
	pullPolicy(&c.ImagePullPolicy, c.Image)
	terminationMessage(&c.TerminationMessagePath, &c.TerminationMessagePolicy)
}

// pullPolicy fills an empty pull policy with the API server's default,
// the same rule podimages reports as an image's effective policy.
func pullPolicy(p *corev1.PullPolicy, image string) {
	*p = podimages.EffectivePullPolicy(image, *p)
}

func terminationMessage(path *string, policy *corev1.TerminationMessagePolicy) {
	if *path == "" {
		*path = corev1.TerminationMessagePathDefault
	}
	if *policy == "" {
		*policy = corev1.TerminationMessageReadFile
	}
}

// podRequests (PodLevelResources, on by default since 1.34): when
// spec.resources has limits, each supported resource (cpu, memory,
// hugepages-*) without a pod-level request gets the containers' effective
// request (init and sidecar formula, no overhead), or else the pod limit.
func podRequests(pod *corev1.Pod) {
	r := pod.Spec.Resources
	if r == nil || len(r.Limits) == 0 {
		return
	}
	reqs := r.Requests
	if reqs == nil {
		reqs = corev1.ResourceList{}
	}
	for name, q := range resourcehelper.AggregateContainerRequests(pod, resourcehelper.PodResourcesOptions{}) {
		if _, ok := reqs[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	for name, q := range r.Limits {
		if _, ok := reqs[name]; !ok && resourcehelper.IsSupportedPodLevelResource(name) {
			reqs[name] = q.DeepCopy()
		}
	}
	if len(reqs) > 0 {
		r.Requests = reqs
	}
}

func spec(s *corev1.PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = corev1.DNSClusterFirst
	}
	if s.RestartPolicy == "" {
		s.RestartPolicy = corev1.RestartPolicyAlways
	}
	if s.SecurityContext == nil {
		s.SecurityContext = &corev1.PodSecurityContext{}
	}
	if s.TerminationGracePeriodSeconds == nil {
		period := int64(corev1.DefaultTerminationGracePeriodSeconds)
		s.TerminationGracePeriodSeconds = &period
	}
	if s.SchedulerName == "" {
		s.SchedulerName = corev1.DefaultSchedulerName
	}
	if s.EnableServiceLinks == nil {
		on := corev1.DefaultEnableServiceLinks
		s.EnableServiceLinks = &on
	}
}
