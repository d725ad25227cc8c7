package quota

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
)

// TestUsage follows the upstream usage cases (reference C.3).
func TestUsage(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	deleting := func(ago time.Duration, grace int64) podOpt {
		return func(p *corev1.Pod) {
			ts := metav1.NewTime(now.Add(-ago))
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &ts, &grace
		}
	}
	tests := map[string]struct {
		pod  *corev1.Pod
		want corev1.ResourceList
	}{
		"init container cpu": {
			pod:  pod(withInit("i", req("cpu", "1m"), lim("cpu", "2m"))),
			want: list("requests.cpu", "1m", "limits.cpu", "2m", "cpu", "1m", "pods", "1", "count/pods", "1"),
		},
		"ephemeral storage": {
			pod: pod(withContainer("c", req("ephemeral-storage", "32Mi"), lim("ephemeral-storage", "64Mi"))),
			want: list("ephemeral-storage", "32Mi", "requests.ephemeral-storage", "32Mi", "limits.ephemeral-storage", "64Mi",
				"pods", "1", "count/pods", "1"),
		},
		"hugepages have no limits name": {
			pod:  pod(withContainer("c", req("hugepages-2Mi", "100Mi"))),
			want: list("hugepages-2Mi", "100Mi", "requests.hugepages-2Mi", "100Mi", "pods", "1", "count/pods", "1"),
		},
		"extended resources only as requests.<name>": {
			pod:  pod(withContainer("c", req("example.com/dongle", "3"), lim("example.com/dongle", "3"))),
			want: list("requests.example.com/dongle", "3", "pods", "1", "count/pods", "1"),
		},
		"DRA implicit extended resource": {
			pod:  pod(withContainer("c", req("deviceclass.resource.kubernetes.io/dongle", "3"), lim("deviceclass.resource.kubernetes.io/dongle", "3"))),
			want: list("requests.deviceclass.resource.kubernetes.io/dongle", "3", "pods", "1", "count/pods", "1"),
		},
		"terminal pod keeps only count/pods": {
			pod:  pod(withPhase(corev1.PodSucceeded), withContainer("c", req("example.com/dongle", "3"), lim("example.com/dongle", "3"))),
			want: list("count/pods", "1"),
		},
		"failed pod keeps only count/pods": {
			pod:  pod(withPhase(corev1.PodFailed), withContainer("c", req("cpu", "1"))),
			want: list("count/pods", "1"),
		},
		"init maximums override the sum of containers": {
			pod: pod(
				withInit("i1", req("cpu", "4", "memory", "100M", "example.com/dongle", "4"), lim("cpu", "8", "memory", "200M", "example.com/dongle", "4")),
				withInit("i2", req("cpu", "1", "memory", "50M", "example.com/dongle", "2"), lim("cpu", "2", "memory", "100M", "example.com/dongle", "2")),
				withContainer("c1", req("cpu", "1", "memory", "50M", "example.com/dongle", "1"), lim("cpu", "2", "memory", "100M", "example.com/dongle", "1")),
				withContainer("c2", req("cpu", "2", "memory", "25M", "example.com/dongle", "2"), lim("cpu", "5", "memory", "50M", "example.com/dongle", "2")),
			),
			want: list("requests.cpu", "4", "requests.memory", "100M", "limits.cpu", "8", "limits.memory", "200M",
				"cpu", "4", "memory", "100M", "requests.example.com/dongle", "4", "pods", "1", "count/pods", "1"),
		},
		"deletion grace ran out": {
			pod:  pod(deleting(60*time.Second, 30), withContainer("c", req("cpu", "1"))),
			want: list("count/pods", "1"),
		},
		"deletion grace not run out": {
			pod:  pod(deleting(0, 30), withContainer("c", req("cpu", "1"), lim("cpu", "2"))),
			want: list("requests.cpu", "1", "limits.cpu", "2", "cpu", "1", "pods", "1", "count/pods", "1"),
		},
		"overhead counts": {
			pod:  pod(withOverhead("cpu", "1"), withContainer("c", req("cpu", "1"), lim("cpu", "2"))),
			want: list("requests.cpu", "2", "limits.cpu", "3", "cpu", "2", "pods", "1", "count/pods", "1"),
		},
		"overhead only on present limits": {
			pod: pod(withOverhead("cpu", "1", "memory", "1Gi"), withInit("i", lim("cpu", "2")),
				withContainer("a", lim("cpu", "2")), withContainer("b", lim("cpu", "3"))),
			want: list("limits.cpu", "6", "requests.cpu", "1", "cpu", "1", "requests.memory", "1Gi", "memory", "1Gi", "pods", "1", "count/pods", "1"),
		},
		"pod-level cpu": {
			pod:  pod(withPodResources(list("cpu", "1m"), list("cpu", "2m"))),
			want: list("requests.cpu", "1m", "limits.cpu", "2m", "cpu", "1m", "pods", "1", "count/pods", "1"),
		},
		"pod-level memory with container ephemeral storage": {
			pod: pod(withPodResources(list("memory", "1Mi"), list("memory", "2Mi")),
				withContainer("c", req("ephemeral-storage", "32Mi"), lim("ephemeral-storage", "64Mi"))),
			want: list("memory", "1Mi", "requests.memory", "1Mi", "limits.memory", "2Mi", "ephemeral-storage", "32Mi",
				"requests.ephemeral-storage", "32Mi", "limits.ephemeral-storage", "64Mi", "pods", "1", "count/pods", "1"),
		},
		"pod level wins over containers": {
			pod:  pod(withPodResources(list("cpu", "8m", "memory", "6Mi"), nil), withContainer("c", req("cpu", "2m", "memory", "3Mi"))),
			want: list("requests.cpu", "8m", "cpu", "8m", "requests.memory", "6Mi", "memory", "6Mi", "pods", "1", "count/pods", "1"),
		},
		"sidecar adds to containers": {
			pod:  pod(withSidecar("s", req("cpu", "1")), withContainer("c", req("cpu", "1"))),
			want: list("requests.cpu", "2", "cpu", "2", "pods", "1", "count/pods", "1"),
		},
		"sidecars stack on later init containers": {
			pod: pod(withInit("i1", req("cpu", "5"), lim("cpu", "5")), withSidecar("s1", req("cpu", "1"), lim("cpu", "1")),
				withSidecar("s2", req("cpu", "2"), lim("cpu", "2")), withInit("i2", req("cpu", "5"), lim("cpu", "5")),
				withSidecar("s3", req("cpu", "3"), lim("cpu", "3")), withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			want: list("requests.cpu", "8", "cpu", "8", "limits.cpu", "8", "pods", "1", "count/pods", "1"),
		},
		"unlimited container adds nothing to limits": {
			pod:  pod(withContainer("a", lim("cpu", "2", "memory", "2Gi")), withContainer("b")),
			want: list("limits.cpu", "2", "limits.memory", "2Gi", "pods", "1", "count/pods", "1"),
		},
		"explicit zero request is present": {
			pod:  pod(withContainer("c", req("cpu", "0"))),
			want: list("requests.cpu", "0", "cpu", "0", "pods", "1", "count/pods", "1"),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Usage(tc.pod, now)
			if !quotav1.Equals(got, tc.want) {
				t.Errorf("Usage:\n got  %s\n want %s", show(got), show(tc.want))
			}
		})
	}
}

// TestPodResourceNames lists which quota names a Pod can consume.
func TestPodResourceNames(t *testing.T) {
	in := []corev1.ResourceName{"services", "pods", "count/pods", "cpu", "limits.memory", "requests.ephemeral-storage",
		"hugepages-2Mi", "requests.hugepages-1Gi", "limits.hugepages-2Mi", "requests.nvidia.com/gpu", "limits.nvidia.com/gpu",
		"nvidia.com/gpu", "requests.deviceclass.resource.kubernetes.io/gpu", "requests.storage", "count/services"}
	hard := corev1.ResourceList{}
	for _, n := range in {
		hard[n] = resource.MustParse("1")
	}
	got := constrainedBy(nil, hard)
	want := []corev1.ResourceName{"count/pods", "cpu", "hugepages-2Mi", "limits.memory", "pods",
		"requests.deviceclass.resource.kubernetes.io/gpu", "requests.ephemeral-storage", "requests.hugepages-1Gi", "requests.nvidia.com/gpu"}
	if !equalNames(got, want) {
		t.Errorf("constrainedBy:\n got  %v\n want %v", got, want)
	}
}

func equalNames(a, b []corev1.ResourceName) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
