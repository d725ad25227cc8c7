package apidefaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

// One case per rule applied; each checks only the fields its rule sets.
func TestPodDefaulting(t *testing.T) {
	tests := map[string]struct {
		pod   corev1.Pod
		check func(t *testing.T, p *corev1.Pod)
	}{
		"container request from limit, own request kept": {
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "x:1",
				Resources: corev1.ResourceRequirements{Limits: list("cpu", "1", "memory", "1Gi", "example.com/gpu", "2"), Requests: list("cpu", "100m")}}}}},
			check: func(t *testing.T, p *corev1.Pod) {
				want := list("cpu", "100m", "memory", "1Gi", "example.com/gpu", "2")
				if diff := cmp.Diff(want, p.Spec.Containers[0].Resources.Requests); diff != "" {
					t.Error(diff)
				}
			},
		},
		"init and sidecar request from limit": {
			pod: corev1.Pod{Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Name: "i", Image: "x:1", Resources: corev1.ResourceRequirements{Limits: list("cpu", "2")}}}}},
			check: func(t *testing.T, p *corev1.Pod) {
				if q := p.Spec.InitContainers[0].Resources.Requests[corev1.ResourceCPU]; q.String() != "2" {
					t.Errorf("init request cpu %s, want 2", q.String())
				}
			},
		},
		"no limits, no requests map": {
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "x:1"}}}},
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Spec.Containers[0].Resources.Requests != nil {
					t.Errorf("requests %v, want none", p.Spec.Containers[0].Resources.Requests)
				}
			},
		},
		"pod-level requests from container requests, then pod limits": {
			pod: corev1.Pod{Spec: corev1.PodSpec{
				Resources: &corev1.ResourceRequirements{Limits: list("cpu", "4", "memory", "2Gi")},
				Containers: []corev1.Container{
					{Name: "a", Image: "x:1", Resources: corev1.ResourceRequirements{Limits: list("cpu", "1")}},
					{Name: "b", Image: "x:1", Resources: corev1.ResourceRequirements{Requests: list("cpu", "500m")}},
				}}},
			check: func(t *testing.T, p *corev1.Pod) {
				// cpu: 1 (from a's limit) + 500m; memory: no container asks, so the pod limit.
				if diff := cmp.Diff(list("cpu", "1500m", "memory", "2Gi"), p.Spec.Resources.Requests, cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
					t.Error(diff)
				}
			},
		},
		"pod-level requests untouched without pod limits": {
			pod: corev1.Pod{Spec: corev1.PodSpec{Resources: &corev1.ResourceRequirements{Requests: list("cpu", "1")},
				Containers: []corev1.Container{{Name: "a", Image: "x:1", Resources: corev1.ResourceRequirements{Requests: list("memory", "1Gi")}}}}},
			check: func(t *testing.T, p *corev1.Pod) {
				if diff := cmp.Diff(list("cpu", "1"), p.Spec.Resources.Requests); diff != "" {
					t.Error(diff)
				}
			},
		},
		"pull policies from tags, every image": {
			pod: corev1.Pod{Spec: corev1.PodSpec{
				Containers: []corev1.Container{
					{Name: "latest", Image: "nginx:latest"}, {Name: "none", Image: "nginx"}, {Name: "tag", Image: "nginx:1.27"},
					{Name: "digest", Image: "nginx@sha256:" + sha}, {Name: "port", Image: "localhost:5000/app"},
					{Name: "bad", Image: "nginx::1"}, {Name: "set", Image: "nginx", ImagePullPolicy: corev1.PullNever},
				},
				InitContainers:      []corev1.Container{{Name: "i", Image: "busybox"}},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "busybox:1.36"}}},
				Volumes:             []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "models/llm"}}}},
			}},
			check: func(t *testing.T, p *corev1.Pod) {
				want := []corev1.PullPolicy{"Always", "Always", "IfNotPresent", "IfNotPresent", "Always", "IfNotPresent", "Never"}
				for i, c := range p.Spec.Containers {
					if c.ImagePullPolicy != want[i] {
						t.Errorf("%s (%s): %s, want %s", c.Name, c.Image, c.ImagePullPolicy, want[i])
					}
				}
				if got := p.Spec.InitContainers[0].ImagePullPolicy; got != corev1.PullAlways {
					t.Errorf("init: %s", got)
				}
				if got := p.Spec.EphemeralContainers[0].ImagePullPolicy; got != corev1.PullIfNotPresent {
					t.Errorf("ephemeral: %s", got)
				}
				if got := p.Spec.Volumes[0].Image.PullPolicy; got != corev1.PullAlways {
					t.Errorf("image volume: %s", got)
				}
			},
		},
		"pod fields the API server always fills": {
			pod: corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "x:1"}}}},
			check: func(t *testing.T, p *corev1.Pod) {
				s := p.Spec
				if s.RestartPolicy != "Always" || s.DNSPolicy != "ClusterFirst" || s.SchedulerName != "default-scheduler" ||
					s.SecurityContext == nil || *s.TerminationGracePeriodSeconds != 30 || !*s.EnableServiceLinks {
					t.Errorf("spec not defaulted: %+v", s)
				}
				c := s.Containers[0]
				if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != "File" {
					t.Errorf("termination message: %q %q", c.TerminationMessagePath, c.TerminationMessagePolicy)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := tc.pod.DeepCopy()
			Pod(p)
			tc.check(t, p)
			again := p.DeepCopy()
			Pod(again)
			if diff := cmp.Diff(p, again); diff != "" {
				t.Errorf("not idempotent:\n%s", diff)
			}
		})
	}
}

const sha = "0000000000000000000000000000000000000000000000000000000000000000"
