// Package podimages is Tollgate's one notion of "the images of a Pod": every
// place a Pod spec names an image the node will pull, with the field path
// of the reference and its effective pull policy. Policies (through the Rego
// helper tollgate.lib.pod, kept equal to it by a test), exemptImages and
// workload feedback all see the same list.
//
// A Pod names images in containers, initContainers (restartable sidecars
// included), ephemeralContainers and image volumes
// (spec.volumes[].image.reference). Images named inside opaque fields, such
// as a CSI driver's volumeAttributes, are out of reach of any admission
// webhook.
package podimages

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Kind is the list of the Pod spec an image comes from, named as in JSON.
type Kind string

// The kinds, in the order the Pod uses them.
const (
	Volume             Kind = "volumes"
	InitContainer      Kind = "initContainers"
	Container          Kind = "containers"
	EphemeralContainer Kind = "ephemeralContainers"
)

// Image is one image a Pod pulls.
type Image struct {
	Kind  Kind
	Index int
	// Name is the container's or the volume's name.
	Name string
	// Reference is the image as written.
	Reference string
	// Path is the field of the reference: "spec.containers[0].image",
	// "spec.volumes[2].image.reference".
	Path string
	// PullPolicy is the policy set, else the one the API server defaults to.
	PullPolicy corev1.PullPolicy
	// PullPolicyPath is the field of the pull policy.
	PullPolicyPath string
}

// Of lists every image of spec: volumes, init containers, containers,
// ephemeral containers, each in spec order.
func Of(spec *corev1.PodSpec) []Image {
	if spec == nil {
		return nil
	}
	n := len(spec.InitContainers) + len(spec.Containers) + len(spec.EphemeralContainers)
	out := make([]Image, 0, n+1)
	for i, v := range spec.Volumes {
		if v.Image != nil {
			out = append(out, volume(i, v))
		}
	}
	for i, c := range spec.InitContainers {
		out = append(out, container(InitContainer, i, c.Name, c.Image, c.ImagePullPolicy))
	}
	for i, c := range spec.Containers {
		out = append(out, container(Container, i, c.Name, c.Image, c.ImagePullPolicy))
	}
	for i, c := range spec.EphemeralContainers {
		out = append(out, container(EphemeralContainer, i, c.Name, c.Image, c.ImagePullPolicy))
	}
	return out
}

func container(k Kind, i int, name, ref string, pp corev1.PullPolicy) Image {
	base := fmt.Sprintf("spec.%s[%d]", k, i)
	return Image{
		Kind: k, Index: i, Name: name, Reference: ref,
		Path:           base + ".image",
		PullPolicy:     EffectivePullPolicy(ref, pp),
		PullPolicyPath: base + ".imagePullPolicy",
	}
}

func volume(i int, v corev1.Volume) Image {
	base := fmt.Sprintf("spec.volumes[%d].image", i)
	return Image{
		Kind: Volume, Index: i, Name: v.Name, Reference: v.Image.Reference,
		Path:           base + ".reference",
		PullPolicy:     EffectivePullPolicy(v.Image.Reference, v.Image.PullPolicy),
		PullPolicyPath: base + ".pullPolicy",
	}
}

// EffectivePullPolicy is set when not empty, else what the API server
// defaults it to, for containers and image volumes alike: Always when the
// reference's tag is "latest" (written, or implied by neither tag nor
// digest), IfNotPresent otherwise (an unparsable reference included).
func EffectivePullPolicy(ref string, set corev1.PullPolicy) corev1.PullPolicy {
	if set != "" {
		return set
	}
	if r, err := imageref.Parse(ref); err == nil && r.Tag == imageref.DefaultTag {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// At returns the image whose entry a field path falls in: the path of the
// reference or of the pull policy, or any path below the container
// ("spec.initContainers[1].securityContext"). A volume's path counts only
// when it is inside its image source.
func At(spec *corev1.PodSpec, path string) (Image, bool) {
	if spec == nil {
		return Image{}, false
	}
	rest, ok := strings.CutPrefix(path, "spec.")
	if !ok {
		return Image{}, false
	}
	kind, rest, ok := strings.Cut(rest, "[")
	if !ok {
		return Image{}, false
	}
	idx, tail, ok := strings.Cut(rest, "]")
	if !ok {
		return Image{}, false
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return Image{}, false
	}
	switch Kind(kind) {
	case Container:
		if i < len(spec.Containers) {
			c := spec.Containers[i]
			return container(Container, i, c.Name, c.Image, c.ImagePullPolicy), true
		}
	case InitContainer:
		if i < len(spec.InitContainers) {
			c := spec.InitContainers[i]
			return container(InitContainer, i, c.Name, c.Image, c.ImagePullPolicy), true
		}
	case EphemeralContainer:
		if i < len(spec.EphemeralContainers) {
			c := spec.EphemeralContainers[i]
			return container(EphemeralContainer, i, c.Name, c.Image, c.ImagePullPolicy), true
		}
	case Volume:
		if i < len(spec.Volumes) && spec.Volumes[i].Image != nil && (tail == ".image" || strings.HasPrefix(tail, ".image.")) {
			return volume(i, spec.Volumes[i]), true
		}
	}
	return Image{}, false
}

// Describe names the image's owner the way users know it: container "app",
// init container "setup", ephemeral container "debugger", image volume "v".
func (im Image) Describe() string {
	return fmt.Sprintf("%s %q", nouns[im.Kind], im.Name)
}

var nouns = map[Kind]string{
	Container:          "container",
	InitContainer:      "init container",
	EphemeralContainer: "ephemeral container",
	Volume:             "image volume",
}

// Noun is the kind of the image's owner in words: "container", "init
// container", "ephemeral container", "image volume".
func (im Image) Noun() string { return nouns[im.Kind] }

// Set writes ref into the field im came from, if that field still holds
// im's reference; it reports whether it wrote.
func Set(spec *corev1.PodSpec, im Image, ref string) bool {
	var field *string
	switch im.Kind {
	case Container:
		if im.Index < len(spec.Containers) {
			field = &spec.Containers[im.Index].Image
		}
	case InitContainer:
		if im.Index < len(spec.InitContainers) {
			field = &spec.InitContainers[im.Index].Image
		}
	case EphemeralContainer:
		if im.Index < len(spec.EphemeralContainers) {
			field = &spec.EphemeralContainers[im.Index].Image
		}
	case Volume:
		if im.Index < len(spec.Volumes) && spec.Volumes[im.Index].Image != nil {
			field = &spec.Volumes[im.Index].Image.Reference
		}
	}
	if field == nil || *field != im.Reference {
		return false
	}
	*field = ref
	return true
}
