package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/podimages"
	"github.com/tollgate-dev/tollgate/policies"
)

// The Rego helper's pod.images and Go's podimages.Of are one notion: every
// shipped policy reads the first, exemptImages and the workload checks the
// second. A probe policy reports each Rego entry; both lists must agree.
func TestRegoImagesEqualGoImages(t *testing.T) {
	probe := mapFS(map[string]string{"probe.rego": `package tollgate.images_probe
import data.tollgate.lib.pod
warn contains json.marshal([im.kind, im.index, im.name, im.image, im.path, im.pullPolicy, im.pullPolicyPath]) if some im in pod.images
`})
	e, err := New(t.Context(), policies.FS, probe)
	if err != nil {
		t.Fatal(err)
	}
	p := pod(
		initContainer("setup", "busybox:1"),
		container("app", "nginx"),
		containerPull("side", "ghcr.io/acme/side@sha256:"+hex64, corev1.PullNever),
		ephemeral("dbg", "busybox:latest@sha256:"+hex64),
		imageVolume("cfg", "", ""),
		imageVolume("data", "ghcr.io/acme/data:1", ""),
		imageVolume("tools", "ghcr.io/acme/tools", corev1.PullIfNotPresent),
		imageVolume("bad", "NOT VALID", ""),
	)
	v, err := e.Evaluate(t.Context(), create(p), Settings{Rules: map[string]Rule{"images-probe": {Action: ActionWarn}}})
	if err != nil {
		t.Fatal(err)
	}
	var fromRego []string
	for _, w := range v.Warnings {
		fromRego = append(fromRego, strings.TrimPrefix(w.Message, "[images-probe] "))
	}
	var fromGo []string
	for _, im := range podimages.Of(&p.Spec) {
		b, _ := json.Marshal([]any{im.Kind, im.Index, im.Name, im.Reference, im.Path, im.PullPolicy, im.PullPolicyPath})
		fromGo = append(fromGo, string(b))
	}
	slices.Sort(fromRego)
	slices.Sort(fromGo)
	if len(fromGo) != 7 || !slices.Equal(fromRego, fromGo) {
		t.Errorf("Rego pod.images:\n  %s\nGo podimages.Of:\n  %s", strings.Join(fromRego, "\n  "), strings.Join(fromGo, "\n  "))
	}
}

// exemptImages drops a result about an image volume whose reference
// matches, and keeps the others.
func TestExemptImagesCoversImageVolumes(t *testing.T) {
	e := shipped(t)
	rule := registries("docker.io/library")
	rule.ExemptImages = []string{"registry.k8s.io/pause"}
	p := pod(container("app", "nginx:1"), imageVolume("ok", "registry.k8s.io/pause:3.10", ""), imageVolume("evil", "evil.example.com/payload:latest", ""))
	v, err := e.Evaluate(t.Context(), create(p), Settings{Rules: map[string]Rule{"allowed-registries": rule, "disallowed-tags": {Action: ActionOff}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Reasons) != 1 || v.Reasons[0].Path != "spec.volumes[1].image.reference" {
		t.Fatalf("reasons = %+v, want only the evil image volume", v.Reasons)
	}
}

// imageVolume adds a volume; an empty reference adds a non-image volume.
func imageVolume(name, ref string, pull corev1.PullPolicy) podOption {
	return func(p *corev1.Pod) {
		v := corev1.Volume{Name: name}
		if ref == "" {
			v.EmptyDir = &corev1.EmptyDirVolumeSource{}
		} else {
			v.Image = &corev1.ImageVolumeSource{Reference: ref, PullPolicy: pull}
		}
		p.Spec.Volumes = append(p.Spec.Volumes, v)
	}
}
