package pipeline

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/podimages"
	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// Verifier finds and verifies the signatures and attestations of images:
// registry work, done here in the plumbing before the policies run, which
// then read the results as input.images.
type Verifier interface {
	// Check returns a result for each image a verification trust selects,
	// keyed by the reference as written. Images no trust selects get no
	// entry and cause no registry request. Registry trouble is a result
	// with Error set, never an image without signatures.
	Check(ctx context.Context, pod *corev1.Pod, images []string) map[string]provenance.Image
}

// unavailable is the reason given when the config selects images for
// verification but this pipeline has no registry access (offline runs).
const unavailable = "signature verification has no registry access here (offline: pass --registry to tollgate eval or a registry.yaml to the test case)"

// verifyImages checks the images pod names that old does not (all of them
// on CREATE): images already admitted are not re-judged, as in the policies.
func (p *Pipeline) verifyImages(ctx context.Context, st *State, pod *corev1.Pod, old *corev1.PodSpec) map[string]provenance.Image {
	cfg := st.Config.VerificationConfig()
	if cfg == nil || len(cfg.Trusts) == 0 {
		return nil // verification not configured: not even a list of images
	}
	images := newImages(&pod.Spec, old)
	if len(images) == 0 || !cfg.SelectsAny(images) {
		return nil
	}
	if st.Verifier == nil {
		out := map[string]provenance.Image{}
		for _, image := range images {
			if cfg.Selects(image) {
				out[image] = provenance.Failed("", unavailable, true) // the server's trouble, not the Pod's
			}
		}
		return out
	}
	ctx, span := startSpan(ctx, "tollgate.signatures.verify")
	out := st.Verifier.Check(ctx, pod, images)
	if span != nil {
		failed := 0
		for _, img := range out {
			if img.Error != "" {
				failed++
			}
		}
		span.SetAttributes(attribute.Int("tollgate.signatures.images", len(out)), attribute.Int("tollgate.signatures.errors", failed))
		endSpan(span, nil)
	}
	return out
}

// newImages lists the distinct references of spec that old does not name.
func newImages(spec, old *corev1.PodSpec) []string {
	had := map[string]bool{}
	for _, im := range podimages.Of(old) {
		had[im.Reference] = true
	}
	var out []string
	for _, im := range podimages.Of(spec) {
		if !had[im.Reference] {
			had[im.Reference] = true
			out = append(out, im.Reference)
		}
	}
	return out
}
