package pinning

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Where a Pod names an image, in the words the annotation and messages use.
const (
	KindContainer          = "container"
	KindInitContainer      = "init container"
	KindEphemeralContainer = "ephemeral container"
	KindImageVolume        = "image volume"
)

// Candidate is one image reference of a Pod that a rule selects for pinning.
type Candidate struct {
	Kind string // KindContainer, ...
	Name string // container or volume name
	Ref  imageref.Ref
}

// Resolution is what the plumbing found for one reference (by Ref.Original).
type Resolution struct {
	Digest string // "sha256:..." when resolved
	Err    error  // why not; Transient tells timeouts, 429 and 5xx apart
	// Transient is true for failures that say nothing about the image.
	Transient bool
}

// Outcome is the result of pinning one Pod.
type Outcome struct {
	// Pinned lists the references rewritten, in Pod order.
	Pinned []Candidate
	// Warnings are for the user (admitted unpinned, with the reason).
	Warnings []string
	// Denials are reasons to refuse the Pod (onError: deny).
	Denials []string
}

// Candidates lists the references of spec that a rule pins in a namespace
// labelled nsLabels: tagged, no digest, parseable. It does no lookups.
func (p *Policy) Candidates(spec *corev1.PodSpec, nsLabels labels.Set) []Candidate {
	if !p.Enabled() || spec == nil {
		return nil
	}
	var out []Candidate
	for _, f := range imageFields(spec) {
		ref, err := imageref.Parse(*f.image)
		if err != nil || ref.Digest != "" || ref.Tag == "" || !p.selects(ref, nsLabels) {
			continue
		}
		out = append(out, Candidate{Kind: f.kind, Name: f.name, Ref: ref})
	}
	return out
}

// Pinned is the reference rewritten to carry digest: the name as written,
// the tag made explicit, then the digest ("app" -> "app:latest@sha256:...").
func Pinned(ref imageref.Ref, digest string) string {
	name := ref.Original
	if !ref.TagImplicit {
		name = strings.TrimSuffix(name, ":"+ref.Tag)
	}
	return name + ":" + ref.Tag + "@" + digest
}

// Apply rewrites the candidates of pod whose resolution succeeded and
// records them in the defaults annotation; failures become warnings or
// denials by the policy's OnError. resolved is keyed by Ref.Original.
func (p *Policy) Apply(pod *corev1.Pod, cands []Candidate, resolved map[string]Resolution) Outcome {
	var out Outcome
	for _, c := range cands {
		res, ok := resolved[c.Ref.Original]
		if !ok || res.Digest == "" {
			out.fail(p.OnError, c, res)
			continue
		}
		if setImage(&pod.Spec, c, Pinned(c.Ref, res.Digest)) {
			out.Pinned = append(out.Pinned, c)
		}
	}
	recordPinned(pod, out.Pinned, resolved)
	return out
}

func (o *Outcome) fail(mode OnError, c Candidate, res Resolution) {
	why := "not resolved"
	if res.Err != nil {
		why = res.Err.Error()
	}
	if mode == Deny {
		o.Denials = append(o.Denials, fmt.Sprintf("image %s of %s %s could not be pinned to a digest (pinning.onError is deny): %s", c.Ref.Original, c.Kind, c.Name, why))
		return
	}
	o.Warnings = append(o.Warnings, fmt.Sprintf("image %s of %s %s admitted unpinned: %s", c.Ref.Original, c.Kind, c.Name, why))
}

// imageField is one place of a Pod spec that names an image.
type imageField struct {
	kind, name string
	image      *string
}

// imageFields lists every image field of spec, in the order the annotation uses.
func imageFields(spec *corev1.PodSpec) []imageField {
	var out []imageField
	for i := range spec.InitContainers {
		out = append(out, imageField{KindInitContainer, spec.InitContainers[i].Name, &spec.InitContainers[i].Image})
	}
	for i := range spec.Containers {
		out = append(out, imageField{KindContainer, spec.Containers[i].Name, &spec.Containers[i].Image})
	}
	for i := range spec.EphemeralContainers {
		out = append(out, imageField{KindEphemeralContainer, spec.EphemeralContainers[i].Name, &spec.EphemeralContainers[i].Image})
	}
	for i := range spec.Volumes {
		if v := spec.Volumes[i].Image; v != nil {
			out = append(out, imageField{KindImageVolume, spec.Volumes[i].Name, &v.Reference})
		}
	}
	return out
}

// setImage writes image into the field c came from, if it still holds c's reference.
func setImage(spec *corev1.PodSpec, c Candidate, image string) bool {
	for _, f := range imageFields(spec) {
		if f.kind == c.Kind && f.name == c.Name && *f.image == c.Ref.Original {
			*f.image = image
			return true
		}
	}
	return false
}

// recordPinned adds "image <ref> pinned to <digest> for <kind> <name>"
// entries to the annotation that records defaults, keeping what is there.
func recordPinned(pod *corev1.Pod, pinned []Candidate, resolved map[string]Resolution) {
	if len(pinned) == 0 {
		return
	}
	old := pod.Annotations[defaults.AnnotationDefaulted]
	have := map[string]bool{}
	var parts []string
	for _, seg := range strings.Split(old, ";") {
		if seg = strings.TrimSpace(seg); seg != "" && !have[seg] {
			have[seg] = true
			parts = append(parts, seg)
		}
	}
	var added []string
	for _, c := range pinned {
		e := fmt.Sprintf("image %s pinned to %s for %s %s", c.Ref.Original, resolved[c.Ref.Original].Digest, c.Kind, c.Name)
		if !have[e] {
			have[e] = true
			added = append(added, e)
		}
	}
	sort.Strings(added)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[defaults.AnnotationDefaulted] = strings.Join(append(parts, added...), "; ")
}

// WouldPin describes, for workload feedback, what pinning will do to the
// Pods of a template (templates themselves are left as written, so GitOps
// tools see no drift). Empty when nothing would be pinned.
func (p *Policy) WouldPin(spec *corev1.PodSpec, nsLabels labels.Set) string {
	cands := p.Candidates(spec, nsLabels)
	if len(cands) == 0 {
		return ""
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = fmt.Sprintf("%s (%s %s)", c.Ref.Original, c.Kind, c.Name)
	}
	return "image tags will be pinned to digests in the Pods this creates (the template is left as written): " + strings.Join(names, ", ")
}
