package sigverify

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// Registries gives the registry access for one Pod: its pull secrets in the
// server, a fixture offline. It must not contact anything until a returned
// Registry is used.
type Registries func(ctx context.Context, pod *corev1.Pod) RegistryFor

// Checker verifies a Pod's images for one compiled config; the pipeline
// calls it before policies run (it implements pipeline.Verifier).
type Checker struct {
	Config     *Config
	Verifier   *Verifier
	Registries Registries
}

// NewChecker is a checker with a fresh cache, for offline use.
func NewChecker(cfg *Config, reg Registries) *Checker {
	return &Checker{Config: cfg, Verifier: &Verifier{Cache: NewCache(cfg.Cache, nil)}, Registries: reg}
}

// Check implements pipeline.Verifier.
func (c *Checker) Check(ctx context.Context, pod *corev1.Pod, images []string) map[string]provenance.Image {
	if c == nil || c.Config == nil || len(c.Config.Trusts) == 0 || !c.Config.SelectsAny(images) {
		return nil
	}
	out := c.Verifier.Images(ctx, c.Config, images, c.Registries(ctx, pod))
	log := ctrl.LoggerFrom(ctx)
	for image, img := range out {
		if img.Error != "" {
			log.Info("image not verified: registry trouble", "image", image, "namespace", pod.Namespace, "error", img.Error)
		}
	}
	return out
}

// SelectsAny reports whether some trust selects one of images, so that a
// Pod with no selected image costs nothing (no pull secret is read).
func (c *Config) SelectsAny(images []string) bool {
	for _, image := range images {
		if c.Selects(image) {
			return true
		}
	}
	return false
}

// Selects reports whether some trust selects the image.
func (c *Config) Selects(image string) bool {
	if c == nil {
		return false
	}
	ref, err := imageref.Parse(image)
	if err != nil {
		return false
	}
	for _, t := range c.Trusts {
		if t.Selects(ref) {
			return true
		}
	}
	return false
}
