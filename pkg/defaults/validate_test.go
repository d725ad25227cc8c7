package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

func TestValidate(t *testing.T) {
	lrs := func(items ...corev1.LimitRangeItem) Inputs {
		return Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", items...)}}
	}
	c0 := func(list, name string) string { return "spec.containers[0].resources." + list + "." + name }
	all := func(list, name string) string { return "spec.containers[*].resources." + list + "." + name }
	reason := func(code, path, msg string) verdict.Reason {
		return verdict.Reason{Code: code, Path: path, Message: msg}
	}
	tests := map[string]struct {
		pod    *corev1.Pod
		inputs Inputs
		want   []verdict.Reason
	}{
		"LRV-01 request above min": {
			pod: pod(ctr("c", req("cpu", "100m"))), inputs: lrs(containerItem(minOf("cpu", "50m"))),
		},
		"LRV-02 request below min": {
			pod: pod(ctr("c", req("cpu", "40m"))), inputs: lrs(containerItem(minOf("cpu", "50m"))),
			want: []verdict.Reason{reason(CodeMin, c0("requests", "cpu"), `LimitRange "lr": container "c": minimum cpu usage per Container is 50m, but request is 40m`)},
		},
		"LRV-03 request below min, limit above": {
			pod: pod(ctr("c", req("cpu", "40m"), lim("cpu", "200m"))), inputs: lrs(containerItem(minOf("cpu", "50m"))),
			want: []verdict.Reason{reason(CodeMin, c0("requests", "cpu"), `LimitRange "lr": container "c": minimum cpu usage per Container is 50m, but request is 40m`)},
		},
		"LRV-04 min needs a request": {
			pod: pod(ctr("c")), inputs: lrs(containerItem(minOf("cpu", "50m"))),
			want: []verdict.Reason{reason(CodeMissing, c0("requests", "cpu"), `LimitRange "lr": container "c": minimum cpu usage per Container is 50m.  No request is specified`)},
		},
		"LRV-05 limit below min, and request above limit": {
			pod: pod(ctr("c", req("memory", "100Mi"), lim("memory", "50Mi"))), inputs: lrs(containerItem(minOf("memory", "100Mi"))),
			want: []verdict.Reason{
				reason(CodeInvalid, c0("requests", "memory"), `container "c": memory request 100Mi must be less than or equal to memory limit of 50Mi`),
				reason(CodeMin, c0("limits", "memory"), `LimitRange "lr": container "c": minimum memory usage per Container is 100Mi, but limit is 50Mi`),
			},
		},
		"LRV-06 within max": {
			pod: pod(ctr("c", req("cpu", "500m"), lim("cpu", "1"))), inputs: lrs(containerItem(maxOf("cpu", "2"))),
		},
		"LRV-07 limit above max": {
			pod: pod(ctr("c", req("cpu", "500m"), lim("cpu", "2500m"))), inputs: lrs(containerItem(maxOf("cpu", "2"))),
			want: []verdict.Reason{reason(CodeMax, c0("limits", "cpu"), `LimitRange "lr": container "c": maximum cpu usage per Container is 2, but limit is 2500m`)},
		},
		"LRV-08 max needs a limit (Validate does not default)": {
			pod: pod(ctr("c")), inputs: lrs(containerItem(maxOf("cpu", "2"))),
			want: []verdict.Reason{reason(CodeMissing, c0("limits", "cpu"), `LimitRange "lr": container "c": maximum cpu usage per Container is 2.  No limit is specified`)},
		},
		"init container without a limit under a max": {
			pod: pod(ctr("c", both("cpu", "1")), initCtr("i", req("cpu", "3"))), inputs: lrs(containerItem(maxOf("cpu", "2"))),
			want: []verdict.Reason{
				reason(CodeMissing, "spec.initContainers[0].resources.limits.cpu", `LimitRange "lr": init container "i": maximum cpu usage per Container is 2.  No limit is specified`),
			},
		},
		"only-limit container: API defaulting supplies the request for min": {
			pod: pod(ctr("c", lim("cpu", "3"))), inputs: lrs(containerItem(minOf("cpu", "50m"), maxOf("cpu", "2"))),
			want: []verdict.Reason{reason(CodeMax, c0("limits", "cpu"), `LimitRange "lr": container "c": maximum cpu usage per Container is 2, but limit is 3`)},
		},
		"LRV-09 memory limit above max": {
			pod: pod(ctr("c", req("memory", "250Mi"), lim("memory", "2Gi"))), inputs: lrs(containerItem(maxOf("memory", "1Gi"))),
			want: []verdict.Reason{reason(CodeMax, c0("limits", "memory"), `LimitRange "lr": container "c": maximum memory usage per Container is 1Gi, but limit is 2Gi`)},
		},
		"LRV-10 ratio exactly at the bound": {
			pod: pod(ctr("c", req("cpu", "500m"), lim("cpu", "750m"))), inputs: lrs(containerItem(ratioOf("cpu", "1.5"))),
		},
		"LRV-11 ratio exceeded": {
			pod: pod(ctr("c", req("cpu", "1250m"), lim("cpu", "2500m"))), inputs: lrs(containerItem(ratioOf("cpu", "1"))),
			want: []verdict.Reason{reason(CodeRatio, c0("limits", "cpu"), `LimitRange "lr": container "c": cpu max limit to request ratio per Container is 1, but provided ratio is 2.000000`)},
		},
		"LRV-12 ratio with a zero request": {
			pod: pod(ctr("c", req("memory", "0"), lim("memory", "1Gi"))), inputs: lrs(containerItem(ratioOf("memory", "2"))),
			want: []verdict.Reason{reason(CodeRatio, c0("requests", "memory"), `LimitRange "lr": container "c": memory max limit to request ratio per Container is 2, but no request is specified or request is 0`)},
		},
		"ratio with no limit": {
			pod: pod(ctr("c", req("memory", "1Gi"))), inputs: lrs(containerItem(ratioOf("memory", "2"))),
			want: []verdict.Reason{reason(CodeMissing, c0("limits", "memory"), `LimitRange "lr": container "c": memory max limit to request ratio per Container is 2, but no limit is specified or limit is 0`)},
		},
		"LRV-13 ratio 4 above 2": {
			pod: pod(ctr("c", req("memory", "256Mi"), lim("memory", "1Gi"))), inputs: lrs(containerItem(ratioOf("memory", "2"))),
			want: []verdict.Reason{reason(CodeRatio, c0("limits", "memory"), `LimitRange "lr": container "c": memory max limit to request ratio per Container is 2, but provided ratio is 4.000000`)},
		},
		"LRV-14 ratio 3.33 under 4": {
			pod: pod(ctr("c", req("cpu", "300m"), lim("cpu", "1"))), inputs: lrs(containerItem(ratioOf("cpu", "4"))),
		},
		"LRV-15 Pod min met by the sum": {
			pod: pod(ctr("a", req("cpu", "75m")), ctr("b", req("cpu", "75m"))), inputs: lrs(podItem(minOf("cpu", "100m"))),
		},
		"LRV-16 Pod min not met": {
			pod: pod(ctr("a", req("cpu", "75m"))), inputs: lrs(podItem(minOf("cpu", "100m"))),
			want: []verdict.Reason{reason(CodeMin, all("requests", "cpu"), `LimitRange "lr": minimum cpu usage per Pod is 100m, but request is 75m`)},
		},
		"LRV-17 Pod min: init container counts as a max, not a sum": {
			pod:    pod(ctr("a", req("memory", "60Mi")), ctr("b", req("memory", "60Mi")), initCtr("i", req("memory", "100Mi"))),
			inputs: lrs(podItem(minOf("memory", "100Mi"))),
		},
		"LRV-18 Pod max exceeded by the sum": {
			pod:    pod(ctr("a", req("cpu", "500m"), lim("cpu", "1")), ctr("b", req("cpu", "500m"), lim("cpu", "1")), ctr("c", req("cpu", "500m"), lim("cpu", "1"))),
			inputs: lrs(podItem(maxOf("cpu", "2"))),
			want:   []verdict.Reason{reason(CodeMax, all("limits", "cpu"), `LimitRange "lr": maximum cpu usage per Pod is 2, but limit is 3`)},
		},
		"LRV-19 Pod max: init containers larger than app containers": {
			pod: pod(ctr("a", req("cpu", "500m"), lim("cpu", "1")), ctr("b", req("cpu", "500m"), lim("cpu", "1")),
				initCtr("i", req("cpu", "1"), lim("cpu", "2")), initCtr("j", both("cpu", "1"))),
			inputs: lrs(podItem(maxOf("cpu", "2"))),
		},
		"LRV-20 Pod max exceeded by an init container": {
			pod:    pod(ctr("a", lim("memory", "500Mi")), initCtr("i", lim("memory", "1.5Gi"))),
			inputs: lrs(podItem(maxOf("memory", "1Gi"))),
			want:   []verdict.Reason{reason(CodeMax, all("limits", "memory"), `LimitRange "lr": maximum memory usage per Pod is 1Gi, but limit is 1536Mi`)},
		},
		"LRV-22 Pod ratio exceeded, ratio prints canonically": {
			pod: pod(ctr("a", req("memory", "250Mi"), lim("memory", "500Mi")), ctr("b", req("memory", "250Mi"), lim("memory", "500Mi")),
				ctr("c", req("memory", "250Mi"), lim("memory", "500Mi"))),
			inputs: lrs(podItem(maxOf("memory", "2Gi"), ratioOf("memory", "1.5"))),
			want:   []verdict.Reason{reason(CodeRatio, all("limits", "memory"), `LimitRange "lr": memory max limit to request ratio per Pod is 1500m, but provided ratio is 2.000000`)},
		},
		"LRV-23 sidecar request adds to the Pod total": {
			pod:    pod(ctr("a", req("cpu", "1"), lim("cpu", "1500m")), sidecar("s", req("cpu", "1500m"))),
			inputs: lrs(podItem(maxOf("cpu", "2"))),
			want:   []verdict.Reason{reason(CodeMax, all("requests", "cpu"), `LimitRange "lr": maximum cpu usage per Pod is 2, but request is 2500m`)},
		},
		"LRV-24 Pod min counts sidecars": {
			pod:    pod(ctr("app", req("memory", "512Mi")), sidecar("log", req("memory", "256Mi"))),
			inputs: lrs(podItem(minOf("memory", "1Gi"))),
			want:   []verdict.Reason{reason(CodeMin, all("requests", "memory"), `LimitRange "lr": minimum memory usage per Pod is 1Gi, but request is 768Mi`)},
		},
		"sidecar is checked as an init container": {
			pod:    pod(ctr("app", both("cpu", "1")), sidecar("proxy", req("cpu", "10m"), lim("cpu", "1"))),
			inputs: lrs(containerItem(ratioOf("cpu", "10"))),
			want: []verdict.Reason{reason(CodeRatio, "spec.initContainers[0].resources.limits.cpu",
				`LimitRange "lr": init container "proxy": cpu max limit to request ratio per Container is 10, but provided ratio is 100.000000`)},
		},
		"init container after a sidecar stacks on it": {
			pod:    pod(ctr("app", req("cpu", "100m")), sidecar("proxy", req("cpu", "500m")), initCtr("migrate", req("cpu", "1"))),
			inputs: lrs(podItem(minOf("cpu", "2"))),
			want:   []verdict.Reason{reason(CodeMin, all("requests", "cpu"), `LimitRange "lr": minimum cpu usage per Pod is 2, but request is 1500m`)},
		},
		"LRV-25 Pod max ignores a container without a limit": {
			pod: pod(ctr("a", lim("cpu", "1")), ctr("b")), inputs: lrs(podItem(maxOf("cpu", "2"))),
		},
		"LRV-26 every missing limit is reported, in name order": {
			pod: pod(ctr("a")), inputs: lrs(containerItem(maxOf("memory", "1Gi"), maxOf("cpu", "100m"))),
			want: []verdict.Reason{
				reason(CodeMissing, c0("limits", "cpu"), `LimitRange "lr": container "a": maximum cpu usage per Container is 100m.  No limit is specified`),
				reason(CodeMissing, c0("limits", "memory"), `LimitRange "lr": container "a": maximum memory usage per Container is 1Gi.  No limit is specified`),
			},
		},
		"LRV-27 ephemeral-storage min": {
			pod: pod(ctr("c", req("ephemeral-storage", "40Mi"))), inputs: lrs(containerItem(minOf("ephemeral-storage", "50Mi"))),
			want: []verdict.Reason{reason(CodeMin, c0("requests", "ephemeral-storage"), `LimitRange "lr": container "c": minimum ephemeral-storage usage per Container is 50Mi, but request is 40Mi`)},
		},
		"LRV-28 Pod max ignores overhead": {
			pod: pod(ctr("c", both("cpu", "1")), overhead("cpu", "250m")), inputs: lrs(podItem(maxOf("cpu", "1"))),
		},
		"LRV-29 pod-level limit replaces the sum": {
			pod:    pod(ctr("c", both("memory", "500Mi")), podLevel("limits", "memory", "2Gi")),
			inputs: lrs(podItem(maxOf("memory", "1Gi"))),
			want:   []verdict.Reason{reason(CodeMax, "spec.resources.limits.memory", `LimitRange "lr": maximum memory usage per Pod is 1Gi, but limit is 2Gi`)},
		},
		"LRV-32 contradicting LimitRanges: both are reported": {
			pod: pod(ctr("c", both("memory", "150Mi"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{
				limitRange("y", containerItem(maxOf("memory", "100Mi"))), limitRange("x", containerItem(minOf("memory", "200Mi"))),
			}},
			want: []verdict.Reason{
				reason(CodeMin, c0("requests", "memory"), `LimitRange "x": container "c": minimum memory usage per Container is 200Mi, but request is 150Mi`),
				reason(CodeMax, c0("limits", "memory"), `LimitRange "y": container "c": maximum memory usage per Container is 100Mi, but limit is 150Mi`),
			},
		},
		"LimitRanges come before profiles": {
			pod: pod(ctr("c", both("cpu", "3"))),
			inputs: Inputs{
				Profiles:    []Profile{profile("team", containerItem(maxOf("cpu", "1")))},
				LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(maxOf("cpu", "2")))},
			},
			want: []verdict.Reason{
				reason(CodeMax, c0("limits", "cpu"), `LimitRange "lr": container "c": maximum cpu usage per Container is 2, but limit is 3`),
				reason(CodeMax, c0("limits", "cpu"), `profile "team": container "c": maximum cpu usage per Container is 1, but limit is 3`),
			},
		},
		"profile bounds are checked and named": {
			pod:    pod(ctr("c", both("cpu", "3"))),
			inputs: Inputs{Profiles: []Profile{profile("team", containerItem(maxOf("cpu", "2")))}},
			want:   []verdict.Reason{reason(CodeMax, c0("limits", "cpu"), `profile "team": container "c": maximum cpu usage per Container is 2, but limit is 3`)},
		},
		"extended resource request must equal its limit": {
			pod:    pod(ctr("c", req("nvidia.com/gpu", "1"), lim("nvidia.com/gpu", "2"))),
			inputs: lrs(containerItem(maxOf("nvidia.com/gpu", "2"))),
			want:   []verdict.Reason{reason(CodeInvalid, c0("requests", "nvidia.com/gpu"), `container "c": nvidia.com/gpu request 1 must be equal to nvidia.com/gpu limit of 2`)},
		},
		"hugepages max": {
			pod:    pod(ctr("c", both("hugepages-2Mi", "2Gi"))),
			inputs: lrs(containerItem(maxOf("hugepages-2Mi", "1Gi"))),
			want:   []verdict.Reason{reason(CodeMax, c0("limits", "hugepages-2Mi"), `LimitRange "lr": container "c": maximum hugepages-2Mi usage per Container is 1Gi, but limit is 2Gi`)},
		},
		"ephemeral containers are not checked": {
			pod: pod(ctr("c", both("cpu", "1")), ephemeral("debug")), inputs: lrs(containerItem(maxOf("cpu", "2"))),
		},
		"no sources, nothing to say": {
			pod: pod(ctr("c", req("cpu", "2"), lim("cpu", "1"))),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			before := jsonOf(t, tt.pod)
			got := Validate(tt.pod, tt.inputs)
			if diff := cmp.Diff(tt.want, got.Reasons, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(verdict.Reason{}, "Resources")); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if got.Allowed() != (len(tt.want) == 0) {
				t.Errorf("Allowed() = %v with %d reasons", got.Allowed(), len(got.Reasons))
			}
			if jsonOf(t, tt.pod) != before {
				t.Errorf("Validate changed the pod")
			}
		})
	}
}

// A Pod Apply defaulted from a LimitRange passes that LimitRange's checks:
// every default it injects is valid.
func TestDefaultsPassValidation(t *testing.T) {
	in := Inputs{
		LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(minOf("cpu", "100m"), maxOf("cpu", "2"), maxOf("memory", "1Gi"), ratioOf("cpu", "4")))},
		Profiles:    []Profile{profile("team", containerItem(defLimit("ephemeral-storage", "1Gi"), maxOf("ephemeral-storage", "2Gi")))},
	}
	p := pod(ctr("app"), sidecar("proxy"), initCtr("setup"))
	Apply(p, in)
	if v := Validate(p, in); !v.Allowed() {
		t.Errorf("defaulted pod denied: %s", v.Message())
	}
}
