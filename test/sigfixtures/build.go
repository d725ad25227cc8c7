package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// build pushes, signs and attests every case's images. Each tag is what
// a fixture Pod names; see test/fixtures/signatures/README.md.
func (g *gen) build() error {
	steps := []func() error{
		// Signed by the release key, each layout once.
		func() error { return g.signed(HostLegacy, "app", "classic", "release", true) },
		func() error { return g.signed(HostOCI11, "app", "bundle", "release", false) },
		func() error { return g.signed(HostLegacy, "app", "fallback-bundle", "release", false) },
		// Unsigned, and signed by a key nobody trusts.
		func() error { _, err := g.push(HostOCI11, "app", "unsigned"); return err },
		func() error { return g.signed(HostOCI11, "app", "wrong-key-bundle", "other", false) },
		func() error { return g.signed(HostLegacy, "app", "wrong-key-classic", "other", true) },
		// An SLSA attestation by the release key, and no signature.
		func() error { return g.attested(HostOCI11, "app", "attested-only", false) },
		func() error { return g.attested(HostLegacy, "app", "fallback-attested-only", false) },
		// Signed and attested.
		func() error { return g.attested(HostOCI11, "app", "signed-attested", true) },
		g.transplants,
		g.movedTag,
		g.multiArch,
		g.keyless,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) signed(host, repo, tag, key string, classic bool) error {
	d, err := g.push(host, repo, tag)
	if err != nil {
		return err
	}
	return g.sign(key, host, repo, d, classic)
}

func (g *gen) attested(host, repo, tag string, alsoSigned bool) error {
	d, err := g.push(host, repo, tag)
	if err != nil {
		return err
	}
	if alsoSigned {
		if err := g.sign("release", host, repo, d, false); err != nil {
			return err
		}
	}
	return g.attest("release", host, repo, d)
}

// transplants copy valid release-key signatures of one image onto another:
// the classic .sig manifest under the victim's .sig tag, and a bundle
// referrer under the victim's fallback referrers tag.
func (g *gen) transplants() error {
	donor, err := g.push(HostLegacy, "app", "transplant-donor")
	if err != nil {
		return err
	}
	if err := g.sign("release", HostLegacy, "app", donor, true); err != nil {
		return err
	}
	if err := g.sign("release", HostLegacy, "app", donor, false); err != nil {
		return err
	}
	victim, err := g.push(HostLegacy, "app", "transplanted")
	if err != nil {
		return err
	}
	for _, suffix := range []string{".sig", ""} {
		if err := g.copyTag(HostLegacy, "app", cosignTag(donor, suffix), cosignTag(victim, suffix)); err != nil {
			return err
		}
	}
	return nil
}

// movedTag signs an image under "moved", then moves the tag to an
// unsigned image: a Pod naming app:moved must get the new digest verified.
func (g *gen) movedTag() error {
	if err := g.signed(HostOCI11, "app", "moved", "release", false); err != nil {
		return err
	}
	_, err := g.push(HostOCI11, "app", "moved")
	return err
}

// multiArch: one index signed itself, one whose platform manifests only are signed.
func (g *gen) multiArch() error {
	d, _, err := g.pushIndex(HostOCI11, "app", "index-signed")
	if err != nil {
		return err
	}
	if err := g.sign("release", HostOCI11, "app", d, false); err != nil {
		return err
	}
	_, platforms, err := g.pushIndex(HostOCI11, "app", "platforms-signed")
	if err != nil {
		return err
	}
	for _, p := range platforms {
		if err := g.sign("release", HostOCI11, "app", p, false); err != nil {
			return err
		}
	}
	return nil
}

func cosignTag(digest, suffix string) string {
	return strings.Replace(digest, ":", "-", 1) + suffix
}

// copyTag puts the manifest under one tag under another, byte for byte.
func (g *gen) copyTag(host, repo, from, to string) error {
	src, err := name.NewTag(g.addr(host)+"/"+repo+":"+from, name.Insecure)
	if err != nil {
		return err
	}
	dst, err := name.NewTag(g.addr(host)+"/"+repo+":"+to, name.Insecure)
	if err != nil {
		return err
	}
	desc, err := remote.Get(src, g.remote(host)...)
	if err != nil {
		return fmt.Errorf("get %s: %w", src, err)
	}
	return remote.Put(dst, desc, g.remote(host)...)
}
