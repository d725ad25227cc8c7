package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Resolve implements Resolver: one manifest HEAD for a new (tag,
// credentials) pair, a cache hit for a recent one, and one shared request
// for concurrent identical lookups.
func (c *Client) Resolve(ctx context.Context, ref imageref.Ref, keys Keychain) (string, error) {
	if ref.Tag == "" {
		return "", &Error{Kind: KindInvalid, Ref: ref.Original, Err: errors.New("reference names no tag to resolve")}
	}
	t, err := c.target(ref, keys)
	if err != nil {
		return "", err
	}
	key := ref.Path + ":" + ref.Tag + "|" + t.fp
	pattern := c.rules[t.rule].Pattern
	if d, ok := c.tags.get(key); ok {
		c.opts.Observer.TagCache(pattern, true)
		return d, nil
	}
	c.opts.Observer.TagCache(pattern, false)
	ch := c.group.DoChan(key, func() (any, error) {
		return c.head(ctx, t, ref, key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", &Error{Kind: KindTimeout, Ref: ref.Original, Err: ctx.Err()}
	}
}

// head runs one shared lookup. It is detached from the first caller's
// cancellation (others may still wait) and bounded by the rule's timeout.
func (c *Client) head(ctx context.Context, t target, ref imageref.Ref, key string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.rules[t.rule].Timeout.Duration)
	defer cancel()
	release, err := c.acquire(ctx, t.repo.RegistryStr())
	if err != nil {
		return "", classify(ref.Original, fmt.Errorf("waiting for a registry slot: %w", err))
	}
	defer release()
	rt, err := c.roundTripper(ctx, t)
	if err != nil {
		return "", classify(ref.Original, err)
	}
	start := c.opts.Now()
	desc, err := remote.Head(t.repo.Tag(ref.Tag), remote.WithContext(ctx), remote.WithTransport(rt))
	c.observe(t, "head", start, err)
	if err != nil {
		err = classify(ref.Original, err)
		if KindOf(err) == KindUnauthorized {
			c.forgetAuth(t)
		}
		return "", err
	}
	d := desc.Digest.String()
	c.tags.put(key, d) // only successes are cached; errors never are
	return d, nil
}
