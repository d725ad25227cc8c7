package sigverify

import (
	"context"
	"sync"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/provenance"
	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// RegistryFor returns the registry serving a host.
type RegistryFor func(host string) Registry

// Verifier checks the images of admissions, behind one cache that lives
// across config reloads (its keys include the trust configuration).
type Verifier struct {
	Cache *Cache
}

// Images verifies each distinct image some trust selects, concurrently,
// within cfg.Timeout, and returns the results keyed by the reference as
// written. Images no trust selects get no entry and cause no request.
func (v *Verifier) Images(ctx context.Context, cfg *Config, images []string, reg RegistryFor) map[string]Image {
	out := map[string]Image{}
	if cfg == nil || len(cfg.Trusts) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	// Each goroutine writes its own slot; the map is filled after Wait.
	type job struct {
		image  string
		ref    imageref.Ref
		trusts []*Trust
		result Image
	}
	var jobs []*job
	seen := map[string]bool{}
	for _, image := range images {
		if seen[image] {
			continue
		}
		seen[image] = true
		ref, err := imageref.Parse(image)
		if err != nil {
			continue // policies report invalid references themselves
		}
		var trusts []*Trust
		for _, t := range cfg.Trusts {
			if t.Selects(ref) {
				trusts = append(trusts, t)
			}
		}
		if len(trusts) > 0 {
			jobs = append(jobs, &job{image: image, ref: ref, trusts: trusts})
		}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.result = v.image(ctx, cfg, j.ref, j.trusts, reg(j.ref.Registry)) })
	}
	wg.Wait()
	for _, j := range jobs {
		out[j.image] = j.result
	}
	return out
}

// image resolves a tag (never cached: the tag may have moved) and checks
// the digest it names now.
func (v *Verifier) image(ctx context.Context, cfg *Config, ref imageref.Ref, trusts []*Trust, reg Registry) Image {
	digest, resolved := ref.Digest, false
	if digest == "" {
		d, err := reg.Resolve(ctx, ref.Path, ref.Tag)
		if err != nil {
			return provenance.Failed("", "resolve tag "+ref.Tag+": "+err.Error(), registry.IsTransient(err))
		}
		digest, resolved = d, true
	}
	img := v.Cache.Check(ctx, reg, ref.Path, digest, trusts, cfg.Options)
	img.Resolved = resolved
	return img
}
