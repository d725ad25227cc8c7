package defaults

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
)

func TestApply(t *testing.T) {
	lrd01 := limitRange("lr", containerItem(defLimit("cpu", "75m"), defLimit("memory", "10Mi"), defReq("cpu", "50m"), defReq("memory", "5Mi")))
	full := []ctrOpt{req("cpu", "50m"), req("memory", "5Mi"), lim("cpu", "75m"), lim("memory", "10Mi")}
	tests := map[string]struct {
		in           *corev1.Pod
		inputs       Inputs
		want         *corev1.Pod
		wantChanged  bool
		wantWarnings []string
	}{
		"LRD-01 empty container gets default requests and limits": {
			in:          pod(ctr("foo-0")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{lrd01}},
			want:        pod(ctr("foo-0", full...), annotated("cpu, memory request for container foo-0; cpu, memory limit for container foo-0")),
			wantChanged: true,
		},
		"LRD-02 init container is defaulted too": {
			in:     pod(ctr("foo-0"), initCtr("foo-1")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{lrd01}},
			want: pod(ctr("foo-0", full...), initCtr("foo-1", full...), annotated(
				"cpu, memory request for container foo-0; cpu, memory limit for container foo-0; "+
					"cpu, memory request for init container foo-1; cpu, memory limit for init container foo-1")),
			wantChanged: true,
		},
		"LRD-03 fully specified pod is left alone": {
			in:     pod(ctr("foo-0", req("cpu", "100m"), req("memory", "512Mi"), lim("cpu", "200m"), lim("memory", "1G"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{lrd01}},
			want:   pod(ctr("foo-0", req("cpu", "100m"), req("memory", "512Mi"), lim("cpu", "200m"), lim("memory", "1G"))),
		},
		"LRD-04 LimitRange default limit below the request is set as upstream does, with a warning": {
			in:     pod(ctr("foo-0", req("memory", "512Mi"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{lrd01}},
			want: pod(ctr("foo-0", req("cpu", "50m"), req("memory", "512Mi"), lim("cpu", "75m"), lim("memory", "10Mi")),
				annotated("cpu request for container foo-0; cpu, memory limit for container foo-0")),
			wantChanged:  true,
			wantWarnings: []string{`container "foo-0": LimitRange "lr" default limit memory 10Mi is below the request 512Mi; the API server will reject this Pod`},
		},
		"LRD-05 only a limit: API defaulting copies it to the request, nothing recorded": {
			in:          pod(ctr("c", lim("memory", "1Gi"))),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("memory", "512Mi"), defReq("memory", "256Mi")))}},
			want:        pod(ctr("c", both("memory", "1Gi"))),
			wantChanged: true,
		},
		"LRD-07 raw min and max: LimitRange defaulting turns max into default and default request": {
			in:          pod(ctr("c")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(minOf("cpu", "100m"), maxOf("cpu", "1")))}},
			want:        pod(ctr("c", both("cpu", "1")), annotated("cpu request for container c; cpu limit for container c")),
			wantChanged: true,
		},
		"LRD-08 default limit alone also gives the request": {
			in:          pod(ctr("c")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "500m")))}},
			want:        pod(ctr("c", both("cpu", "500m")), annotated("cpu request for container c; cpu limit for container c")),
			wantChanged: true,
		},
		"LRD-09 default request alone sets no limit": {
			in:          pod(ctr("c")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defReq("cpu", "100m"), defReq("memory", "512Mi")))}},
			want:        pod(ctr("c", req("cpu", "100m"), req("memory", "512Mi")), annotated("cpu, memory request for container c")),
			wantChanged: true,
		},
		"LRD-10 min alone becomes the default request": {
			in:          pod(ctr("foo-0")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(minOf("cpu", "50m")))}},
			want:        pod(ctr("foo-0", req("cpu", "50m")), annotated("cpu request for container foo-0")),
			wantChanged: true,
		},
		"LRD-11 app, sidecar and init container": {
			in: pod(ctr("app", req("cpu", "100m")), sidecar("proxy"), initCtr("init", lim("memory", "1Gi"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(
				defLimit("cpu", "500m"), defLimit("memory", "512Mi"), defReq("cpu", "250m"), defReq("memory", "256Mi")))}},
			want: pod(
				ctr("app", req("cpu", "100m"), req("memory", "256Mi"), lim("cpu", "500m"), lim("memory", "512Mi")),
				sidecar("proxy", req("cpu", "250m"), req("memory", "256Mi"), lim("cpu", "500m"), lim("memory", "512Mi")),
				initCtr("init", req("cpu", "250m"), both("memory", "1Gi"), lim("cpu", "500m")),
				annotated("memory request for container app; cpu, memory limit for container app; "+
					"cpu, memory request for init container proxy; cpu, memory limit for init container proxy; "+
					"cpu request for init container init; cpu limit for init container init")),
			wantChanged: true,
		},
		"LRD-12 two LimitRanges: sorted by name, first wins per key": {
			in: pod(ctr("c")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{
				limitRange("b", containerItem(defLimit("cpu", "1"), defLimit("memory", "1Gi"), defReq("cpu", "200m"), defReq("memory", "256Mi"))),
				limitRange("a", containerItem(defLimit("cpu", "500m"), defReq("cpu", "100m"))),
			}},
			want: pod(ctr("c", req("cpu", "100m"), req("memory", "256Mi"), lim("cpu", "500m"), lim("memory", "1Gi")),
				annotated("cpu, memory request for container c; cpu, memory limit for container c")),
			wantChanged: true,
			wantWarnings: []string{
				`LimitRanges "a" and "b" both set the default cpu limit for containers (500m and 1): Tollgate uses "a" (first by name), but the in-tree LimitRanger may pick either, so the stored Pod can differ`,
				`LimitRanges "a" and "b" both set the default cpu request for containers (100m and 200m): Tollgate uses "a" (first by name), but the in-tree LimitRanger may pick either, so the stored Pod can differ`,
			},
		},
		"two LimitRanges disagree on a default the Pod does not take: no warning": {
			in: pod(ctr("c", both("cpu", "2"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{
				limitRange("b", containerItem(defLimit("cpu", "1"), defLimit("memory", "1Gi"))),
				limitRange("a", containerItem(defLimit("cpu", "500m"), defLimit("memory", "1Gi"))),
			}},
			want:        pod(ctr("c", both("cpu", "2"), both("memory", "1Gi")), annotated("memory request for container c; memory limit for container c")),
			wantChanged: true,
		},
		"in-tree LimitRanger took a disputed default already: warned": {
			in: pod(ctr("c", both("cpu", "1")), withAnnotation("kubernetes.io/limit-ranger", "LimitRanger plugin set: cpu request for container c; cpu limit for container c")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{
				limitRange("b", containerItem(defLimit("cpu", "1"))),
				limitRange("a", containerItem(defLimit("cpu", "500m"))),
			}},
			want: pod(ctr("c", both("cpu", "1")), withAnnotation("kubernetes.io/limit-ranger", "LimitRanger plugin set: cpu request for container c; cpu limit for container c")),
			wantWarnings: []string{
				`LimitRanges "a" and "b" both set the default cpu limit for containers (500m and 1): Tollgate uses "a" (first by name), but the in-tree LimitRanger may pick either, so the stored Pod can differ`,
				`LimitRanges "a" and "b" both set the default cpu request for containers (500m and 1): Tollgate uses "a" (first by name), but the in-tree LimitRanger may pick either, so the stored Pod can differ`,
			},
		},
		"LRD-13 max of an extended resource allocates it to every container": {
			in:          pod(ctr("a")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(maxOf("nvidia.com/gpu", "2")))}},
			want:        pod(ctr("a", both("nvidia.com/gpu", "2")), annotated("nvidia.com/gpu request for container a; nvidia.com/gpu limit for container a")),
			wantChanged: true,
		},
		"LRD-14 hugepages default": {
			in:     pod(ctr("c", both("memory", "100Mi"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(maxOf("hugepages-2Mi", "1Gi")))}},
			want: pod(ctr("c", both("memory", "100Mi"), both("hugepages-2Mi", "1Gi")),
				annotated("hugepages-2Mi request for container c; hugepages-2Mi limit for container c")),
			wantChanged: true,
		},
		"ephemeral containers are untouched": {
			in:          pod(ctr("c", both("cpu", "1")), ephemeral("debug")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("memory", "1Gi")))}},
			want:        pod(ctr("c", both("cpu", "1"), both("memory", "1Gi")), ephemeral("debug"), annotated("memory request for container c; memory limit for container c")),
			wantChanged: true,
		},
		"explicit zero is kept": {
			in:     pod(ctr("c", both("cpu", "0"))),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "1")))}},
			want:   pod(ctr("c", both("cpu", "0"))),
		},
		"no LimitRange and no profile: nothing happens, not even API defaulting": {
			in:   pod(ctr("c", lim("cpu", "1"))),
			want: pod(ctr("c", lim("cpu", "1"))),
		},
		"Pod-type items have no defaults": {
			in:     pod(ctr("c")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", podItem(maxOf("cpu", "2"), minOf("cpu", "1")))}},
			want:   pod(ctr("c")),
		},
		"pod-level resources do not stop container defaults": {
			in:          pod(ctr("c"), podLevel("limits", "cpu", "2")),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "1")))}},
			want:        pod(ctr("c", both("cpu", "1")), podLevel("limits", "cpu", "2"), annotated("cpu request for container c; cpu limit for container c")),
			wantChanged: true,
		},
		"profile fills only what the LimitRange left": {
			in: pod(ctr("c")),
			inputs: Inputs{
				LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "1"), defReq("cpu", "100m")))},
				Profiles:    []Profile{profile("team", containerItem(defLimit("cpu", "4"), defLimit("memory", "1Gi"), defReq("cpu", "2"), defReq("memory", "512Mi")))},
			},
			want: pod(ctr("c", req("cpu", "100m"), req("memory", "512Mi"), lim("cpu", "1"), lim("memory", "1Gi")),
				annotated("cpu, memory request for container c; cpu, memory limit for container c")),
			wantChanged: true,
		},
		"explicit value beats LimitRange and profile": {
			in: pod(ctr("c", both("cpu", "300m"))),
			inputs: Inputs{
				LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "1")))},
				Profiles:    []Profile{profile("team", containerItem(defLimit("cpu", "4")))},
			},
			want: pod(ctr("c", both("cpu", "300m"))),
		},
		"two profiles: first wins per key": {
			in: pod(ctr("c")),
			inputs: Inputs{Profiles: []Profile{
				profile("first", containerItem(defLimit("cpu", "1"), defReq("cpu", "1"))),
				profile("second", containerItem(defLimit("cpu", "2"), defLimit("memory", "1Gi"), defReq("cpu", "2"), defReq("memory", "1Gi"))),
			}},
			want:        pod(ctr("c", both("cpu", "1"), both("memory", "1Gi")), annotated("cpu, memory request for container c; cpu, memory limit for container c")),
			wantChanged: true,
		},
		"profile max is a bound, not a default": {
			in:     pod(ctr("c")),
			inputs: Inputs{Profiles: []Profile{profile("team", containerItem(maxOf("cpu", "2"), minOf("cpu", "100m")))}},
			want:   pod(ctr("c")),
		},
		"profile default limit alone gives the request the API server would copy": {
			in:          pod(ctr("c")),
			inputs:      Inputs{Profiles: []Profile{profile("team", containerItem(defLimit("memory", "256Mi")))}},
			want:        pod(ctr("c", both("memory", "256Mi")), annotated("memory request for container c; memory limit for container c")),
			wantChanged: true,
		},
		"kubernetes#51430: profile default limit below the request is raised, with a warning": {
			in:          pod(ctr("app", req("memory", "512Mi")), initCtr("setup", req("memory", "1Gi"))),
			inputs:      Inputs{Profiles: []Profile{profile("team", containerItem(defLimit("memory", "256Mi"), defReq("memory", "128Mi")))}},
			want:        pod(ctr("app", both("memory", "512Mi")), initCtr("setup", both("memory", "1Gi")), annotated("memory limit for container app; memory limit for init container setup")),
			wantChanged: true,
			wantWarnings: []string{
				`container "app": profile "team" default limit memory 256Mi is below the request 512Mi; limit set to 512Mi`,
				`init container "setup": profile "team" default limit memory 256Mi is below the request 1Gi; limit set to 1Gi`,
			},
		},
		"profile limit for an extended resource is made equal to the request": {
			in:           pod(ctr("a", req("example.com/foo", "1"))),
			inputs:       Inputs{Profiles: []Profile{profile("gpu", containerItem(defLimit("example.com/foo", "2")))}},
			want:         pod(ctr("a", both("example.com/foo", "1")), annotated("example.com/foo limit for container a")),
			wantChanged:  true,
			wantWarnings: []string{`container "a": profile "gpu" default limit example.com/foo 2 differs from the request 1, and example.com/foo requests must equal limits; limit set to 1`},
		},
		"LimitRange limit for an extended resource is kept unequal to the request, as upstream, with a warning": {
			in:          pod(ctr("a", req("nvidia.com/gpu", "1"))),
			inputs:      Inputs{LimitRanges: []corev1.LimitRange{limitRange("gpu", containerItem(maxOf("nvidia.com/gpu", "2")))}},
			want:        pod(ctr("a", req("nvidia.com/gpu", "1"), lim("nvidia.com/gpu", "2")), annotated("nvidia.com/gpu limit for container a")),
			wantChanged: true,
			wantWarnings: []string{`container "a": LimitRange "gpu" default limit nvidia.com/gpu 2 differs from the request 1, ` +
				`and nvidia.com/gpu requests must equal limits; the API server will reject this Pod`},
		},
		"existing annotation is merged with what is new": {
			in:     pod(ctr("app", req("cpu", "100m")), annotated("cpu request for container app; something a human wrote")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defReq("memory", "64Mi")))}},
			want: pod(ctr("app", req("cpu", "100m"), req("memory", "64Mi")),
				annotated("cpu, memory request for container app; something a human wrote")),
			wantChanged: true,
		},
		"annotation entries for containers the pod lacks are kept after the new ones": {
			in:     pod(ctr("app"), initCtr("setup", both("cpu", "1")), annotated("cpu limit for container old; cpu limit for init container setup")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "2"), defLimit("memory", "1Gi")))}},
			want: pod(ctr("app", both("cpu", "2"), both("memory", "1Gi")), initCtr("setup", both("cpu", "1"), both("memory", "1Gi")), annotated(
				"cpu, memory request for container app; cpu, memory limit for container app; "+
					"memory request for init container setup; cpu, memory limit for init container setup; cpu limit for container old")),
			wantChanged: true,
		},
		"existing annotation is not rewritten when nothing is set": {
			in:     pod(ctr("app", both("cpu", "1")), annotated("cpu limit for container gone;cpu request for container app")),
			inputs: Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "2")))}},
			want:   pod(ctr("app", both("cpu", "1")), annotated("cpu limit for container gone;cpu request for container app")),
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := tt.in.DeepCopy()
			res := Apply(got, tt.inputs)
			if diff := cmp.Diff(tt.want, got, quantityEqual()); diff != "" {
				t.Errorf("pod (-want +got):\n%s", diff)
			}
			if res.Changed != tt.wantChanged {
				t.Errorf("Changed = %v, want %v", res.Changed, tt.wantChanged)
			}
			if diff := cmp.Diff(tt.wantWarnings, res.Verdict().WarningMessages(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if !res.Changed && jsonOf(t, got) != jsonOf(t, tt.in) {
				t.Errorf("Changed = false but the pod differs from the input")
			}
			assertIdempotent(t, got, tt.inputs)
		})
	}
}

// A LimitRange read from the cache is already defaulted by the API server;
// defaulting it again must give exactly what the raw object gives.
func TestApplyStoredAndRawLimitRangeAgree(t *testing.T) {
	raw := limitRange("lr", containerItem(minOf("cpu", "100m"), maxOf("cpu", "1"), maxOf("memory", "1Gi")))
	stored := limitRange("lr", defaultedItem(raw.Spec.Limits[0]))
	if _, ok := stored.Spec.Limits[0].DefaultRequest["cpu"]; !ok {
		t.Fatalf("defaultedItem did not fill defaultRequest: %+v", stored.Spec.Limits[0])
	}
	a, b := pod(ctr("c"), initCtr("i")), pod(ctr("c"), initCtr("i"))
	Apply(a, Inputs{LimitRanges: []corev1.LimitRange{raw}})
	Apply(b, Inputs{LimitRanges: []corev1.LimitRange{stored}})
	if diff := cmp.Diff(jsonOf(t, a), jsonOf(t, b)); diff != "" {
		t.Errorf("raw vs stored LimitRange (-raw +stored):\n%s", diff)
	}
	if again := defaultedItem(stored.Spec.Limits[0]); cmp.Diff(stored.Spec.Limits[0], again, quantityEqual()) != "" {
		t.Errorf("defaulting a stored item changed it")
	}
}

// Apply must not write into the LimitRanges or profiles it was given.
func TestApplyDoesNotAliasInputs(t *testing.T) {
	in := Inputs{LimitRanges: []corev1.LimitRange{limitRange("lr", containerItem(defLimit("cpu", "1")))}}
	p := pod(ctr("c"))
	Apply(p, in)
	q := p.Spec.Containers[0].Resources.Limits["cpu"]
	q.Add(q)
	p.Spec.Containers[0].Resources.Limits["cpu"] = q
	if got := in.LimitRanges[0].Spec.Limits[0].Default["cpu"]; got.String() != "1" {
		t.Errorf("LimitRange default changed to %s", got.String())
	}
	if in.LimitRanges[0].Spec.Limits[0].DefaultRequest != nil {
		t.Errorf("Apply defaulted the caller's LimitRange in place")
	}
}
