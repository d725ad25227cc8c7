package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Fetcher reads what a signature verifier needs from a selected registry.
// Errors are *Error: a KindNotFound answer is definitive (e.g. no
// "sha256-<hex>.sig" tag), transient kinds are not and must not be cached.
type Fetcher interface {
	// Manifest fetches the manifest that ref names (its digest if it has
	// one, else its tag).
	Manifest(ctx context.Context, ref imageref.Ref, keys Keychain) (Manifest, error)
	// Blob fetches a blob of ref's repository by digest, refusing more than limit bytes.
	Blob(ctx context.Context, ref imageref.Ref, digest string, limit int64, keys Keychain) ([]byte, error)
	// Referrers lists the OCI 1.1 referrers of digest in ref's repository
	// (through the referrers API, or the "sha256-<hex>" fallback tag where the
	// registry has none), keeping only artifactType when it is not empty. No
	// referrers is an empty index, not an error.
	Referrers(ctx context.Context, ref imageref.Ref, digest, artifactType string, keys Keychain) (Manifest, error)
}

// Manifest is a manifest or index as the registry served it.
type Manifest struct {
	Digest    string
	MediaType string
	Raw       []byte
}

// call runs op against ref's registry with the rule's timeout, a
// concurrency slot and the authenticated transport, and classifies its error.
func (c *Client) call(ctx context.Context, ref imageref.Ref, keys Keychain, opName string,
	op func(ctx context.Context, t target, rt http.RoundTripper) error) error {
	t, err := c.target(ref, keys)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.rules[t.rule].Timeout.Duration)
	defer cancel()
	release, err := c.acquire(ctx, t.repo.RegistryStr())
	if err != nil {
		return classify(ref.Original, fmt.Errorf("waiting for a registry slot: %w", err))
	}
	defer release()
	rt, err := c.roundTripper(ctx, t)
	if err != nil {
		return classify(ref.Original, err)
	}
	start := c.opts.Now()
	err = op(ctx, t, rt)
	c.observe(t, opName, start, err)
	if err = classify(ref.Original, err); KindOf(err) == KindUnauthorized {
		c.forgetAuth(t)
	}
	return err
}

// Manifest implements Fetcher.
func (c *Client) Manifest(ctx context.Context, ref imageref.Ref, keys Keychain) (Manifest, error) {
	var m Manifest
	err := c.call(ctx, ref, keys, "manifest", func(ctx context.Context, t target, rt http.RoundTripper) error {
		var r name.Reference = t.repo.Tag(ref.Tag)
		if ref.Digest != "" {
			r = t.repo.Digest(ref.Digest)
		}
		desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithTransport(rt))
		if err != nil {
			return err
		}
		m = Manifest{Digest: desc.Digest.String(), MediaType: string(desc.MediaType), Raw: desc.Manifest}
		return nil
	})
	return m, err
}

// Blob implements Fetcher.
func (c *Client) Blob(ctx context.Context, ref imageref.Ref, digest string, limit int64, keys Keychain) ([]byte, error) {
	var b []byte
	err := c.call(ctx, ref, keys, "blob", func(ctx context.Context, t target, rt http.RoundTripper) error {
		h, err := v1.NewHash(digest)
		if err != nil {
			return &Error{Kind: KindInvalid, Ref: ref.Original, Err: err}
		}
		layer, err := remote.Layer(t.repo.Digest(h.String()), remote.WithContext(ctx), remote.WithTransport(rt))
		if err != nil {
			return err
		}
		rc, err := layer.Compressed() // verifies the digest as it reads
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err = io.ReadAll(io.LimitReader(rc, limit+1))
		if err == nil && int64(len(b)) > limit {
			err = &Error{Kind: KindInvalid, Ref: ref.Original, Err: fmt.Errorf("blob %s is larger than %d bytes", digest, limit)}
		}
		return err
	})
	return b, err
}

// Referrers implements Fetcher.
func (c *Client) Referrers(ctx context.Context, ref imageref.Ref, digest, artifactType string, keys Keychain) (Manifest, error) {
	var m Manifest
	err := c.call(ctx, ref, keys, "referrers", func(ctx context.Context, t target, rt http.RoundTripper) error {
		h, err := v1.NewHash(digest)
		if err != nil {
			return &Error{Kind: KindInvalid, Ref: ref.Original, Err: err}
		}
		opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt)}
		if artifactType != "" {
			opts = append(opts, remote.WithFilter("artifactType", artifactType))
		}
		idx, err := remote.Referrers(t.repo.Digest(h.String()), opts...)
		if err != nil {
			return err
		}
		raw, err := idx.RawManifest()
		if err != nil {
			return err
		}
		d, err := idx.Digest()
		if err != nil {
			return err
		}
		mt, _ := idx.MediaType()
		m = Manifest{Digest: d.String(), MediaType: string(mt), Raw: raw}
		return nil
	})
	return m, err
}
