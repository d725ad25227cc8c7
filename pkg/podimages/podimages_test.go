package podimages

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func spec() *corev1.PodSpec {
	return &corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "evil.example.com/payload"}}},
		},
		InitContainers:      []corev1.Container{{Name: "setup", Image: "busybox:1"}},
		Containers:          []corev1.Container{{Name: "app", Image: "nginx:1", ImagePullPolicy: corev1.PullAlways}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox@sha256:" + hex64}}},
	}
}

func TestOfListsEveryPlace(t *testing.T) {
	want := []Image{
		{Volume, 1, "data", "evil.example.com/payload", "spec.volumes[1].image.reference", corev1.PullAlways, "spec.volumes[1].image.pullPolicy"},
		{InitContainer, 0, "setup", "busybox:1", "spec.initContainers[0].image", corev1.PullIfNotPresent, "spec.initContainers[0].imagePullPolicy"},
		{Container, 0, "app", "nginx:1", "spec.containers[0].image", corev1.PullAlways, "spec.containers[0].imagePullPolicy"},
		{EphemeralContainer, 0, "dbg", "busybox@sha256:" + hex64, "spec.ephemeralContainers[0].image", corev1.PullIfNotPresent, "spec.ephemeralContainers[0].imagePullPolicy"},
	}
	got := Of(spec())
	if len(got) != len(want) {
		t.Fatalf("Of = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Of[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if Of(nil) != nil {
		t.Error("Of(nil) is not empty")
	}
}

// The API server's defaulting for containers and image volumes alike.
func TestEffectivePullPolicy(t *testing.T) {
	tests := map[string]corev1.PullPolicy{
		"nginx":                            corev1.PullAlways,
		"nginx:latest":                     corev1.PullAlways,
		"nginx:latest@sha256:" + hex64:     corev1.PullAlways,
		"nginx:1.25":                       corev1.PullIfNotPresent,
		"nginx@sha256:" + hex64:            corev1.PullIfNotPresent,
		"NOT VALID":                        corev1.PullIfNotPresent,
		"localhost:5000/a":                 corev1.PullAlways,
		"registry.example.com:5000/team/a": corev1.PullAlways,
	}
	for ref, want := range tests {
		if got := EffectivePullPolicy(ref, ""); got != want {
			t.Errorf("EffectivePullPolicy(%q) = %s, want %s", ref, got, want)
		}
	}
	if got := EffectivePullPolicy("nginx", corev1.PullNever); got != corev1.PullNever {
		t.Errorf("a set policy is kept, got %s", got)
	}
}

func TestAt(t *testing.T) {
	s := spec()
	tests := map[string]string{ // path -> reference found, "" for none
		"spec.volumes[1].image.reference":    "evil.example.com/payload",
		"spec.volumes[1].image.pullPolicy":   "evil.example.com/payload",
		"spec.volumes[1].image":              "evil.example.com/payload",
		"spec.volumes[1].name":               "",
		"spec.volumes[1].imagex":             "",
		"spec.volumes[0].image.reference":    "",
		"spec.volumes[9].image.reference":    "",
		"spec.initContainers[0].image":       "busybox:1",
		"spec.containers[0].securityContext": "nginx:1",
		"spec.ephemeralContainers[0].image":  "busybox@sha256:" + hex64,
		"spec.containers[1].image":           "",
		"spec.containers[-1].image":          "",
		"spec.containers[x].image":           "",
		"spec.containers.image":              "",
		"metadata.labels":                    "",
		"spec.overhead":                      "",
		"spec.containers[0":                  "",
	}
	for path, want := range tests {
		im, ok := At(s, path)
		if ok != (want != "") || im.Reference != want {
			t.Errorf("At(%q) = %q, %v; want %q", path, im.Reference, ok, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, im := range Of(spec()) {
		got := im.Describe()
		want := map[Kind]string{Volume: `image volume "data"`, InitContainer: `init container "setup"`, Container: `container "app"`, EphemeralContainer: `ephemeral container "dbg"`}[im.Kind]
		if got != want {
			t.Errorf("Describe = %s, want %s", got, want)
		}
	}
}
