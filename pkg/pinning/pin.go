package pinning

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/podimages"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Codes of pinning's reasons and warnings.
const (
	// ReasonUnresolved: a Pod refused because a selected tag could not be
	// pinned and pinning.onError is deny.
	ReasonUnresolved = "pinning.unresolved"
	// WarnUnpinned: a Pod admitted with a selected tag as written
	// (onError admit-unpinned-with-warning).
	WarnUnpinned = "pinning.unpinned"
	// WarnWillPin: workload feedback, the tags its Pods will have pinned.
	WarnWillPin = "pinning.will-pin"
	// WarnOffline: an offline run (eval, test) resolves nothing.
	WarnOffline = "pinning.offline"
)

// Candidate is one image reference of a Pod that a rule selects for pinning.
type Candidate struct {
	Image podimages.Image
	Ref   imageref.Ref
}

// Resolution is what the plumbing found for one reference (by Ref.Original).
type Resolution struct {
	Digest string // "sha256:..." when resolved
	Err    error  // why not
	// Transient is true for failures that say nothing about the image
	// (timeouts, 429, 5xx, connection refused).
	Transient bool
}

// Pin is one reference rewritten.
type Pin struct {
	Candidate
	Digest string
	// Written is the reference written into the Pod.
	Written string
}

// Outcome is the result of pinning one Pod.
type Outcome struct {
	// Pinned lists the references rewritten, in Pod order.
	Pinned []Pin
	// Warnings are for the user (admitted unpinned, with the reason).
	Warnings []verdict.Warning
	// Denials are reasons to refuse the Pod (onError: deny); Path is the image field.
	Denials []Denial
}

// Denial is one image that could not be pinned under onError: deny.
type Denial struct {
	Path, Message string
}

// Candidates lists the references of spec that a rule pins in a namespace
// labelled nsLabels: tagged, no digest, parseable. It does no lookups.
func (p *Policy) Candidates(spec *corev1.PodSpec, nsLabels labels.Set) []Candidate {
	if !p.Enabled() || spec == nil {
		return nil
	}
	var out []Candidate
	for _, im := range podimages.Of(spec) {
		ref, err := imageref.Parse(im.Reference)
		if err != nil || ref.Digest != "" || ref.Tag == "" || !p.selects(ref, nsLabels) {
			continue
		}
		out = append(out, Candidate{Image: im, Ref: ref})
	}
	return out
}

// Added keeps the candidates that are not in old: on an update only new
// ephemeral containers may change, so only they are pinned.
func Added(cands []Candidate, old *corev1.PodSpec) []Candidate {
	have := map[string]bool{}
	for _, im := range podimages.Of(old) {
		have[string(im.Kind)+"/"+im.Name] = true
	}
	var out []Candidate
	for _, c := range cands {
		if c.Image.Kind == podimages.EphemeralContainer && !have[string(c.Image.Kind)+"/"+c.Image.Name] {
			out = append(out, c)
		}
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
// denials by the policy's OnError. resolved is keyed by Ref.Original. On a
// denial the Pod is left unchanged.
func (p *Policy) Apply(pod *corev1.Pod, cands []Candidate, resolved map[string]Resolution) Outcome {
	var out Outcome
	var ok []Pin
	for _, c := range cands {
		res := resolved[c.Ref.Original]
		if res.Digest == "" {
			out.fail(p.OnError, c, res)
			continue
		}
		ok = append(ok, Pin{Candidate: c, Digest: res.Digest, Written: Pinned(c.Ref, res.Digest)})
	}
	if len(out.Denials) > 0 {
		return out
	}
	for _, pin := range ok {
		if podimages.Set(&pod.Spec, pin.Image, pin.Written) {
			out.Pinned = append(out.Pinned, pin)
		}
	}
	recordPinned(pod, out.Pinned)
	return out
}

func (o *Outcome) fail(mode OnError, c Candidate, res Resolution) {
	why := "not resolved"
	if res.Err != nil {
		why = res.Err.Error()
	}
	if mode == Deny {
		o.Denials = append(o.Denials, Denial{Path: c.Image.Path, Message: fmt.Sprintf(
			"image %s of %s could not be pinned to a digest (pinning.onError is deny): %s", c.Ref.Original, c.Image.Describe(), why)})
		return
	}
	o.Warnings = append(o.Warnings, verdict.Warning{Code: WarnUnpinned,
		Message: fmt.Sprintf("image %s of %s admitted unpinned: %s", c.Ref.Original, c.Image.Describe(), why)})
}

// WouldPin describes, for workload feedback, what pinning will do to the
// Pods of a template (templates themselves are left as written, so GitOps
// tools see no drift). Empty when nothing would be pinned.
func (p *Policy) WouldPin(spec *corev1.PodSpec, nsLabels labels.Set) string {
	cands := p.Candidates(spec, nsLabels)
	if len(cands) == 0 {
		return ""
	}
	return "image tags will be pinned to digests in the Pods this creates (the template is left as written): " + List(cands)
}

// Unresolved is the warning of an offline run (eval, test), which has no
// registry: the candidates stay as written.
func Unresolved(cands []Candidate) string {
	return "image tags would be pinned to digests by the webhook, not offline (no registry is contacted): " + List(cands)
}

// List names the candidates: `reg/app:1.0 (container "app"), ...`.
func List(cands []Candidate) string {
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = fmt.Sprintf("%s (%s)", c.Ref.Original, c.Image.Describe())
	}
	return strings.Join(names, ", ")
}
