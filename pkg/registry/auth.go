package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// authTTL bounds how long an authenticated transport (and its bearer
// token) is reused before the auth handshake is done again.
const authTTL = 5 * time.Minute

type authEntry struct {
	rt      http.RoundTripper
	expires time.Time
}

// target is one repository on a selected registry, with the credentials
// for it already chosen.
type target struct {
	rule int
	repo name.Repository
	auth authn.Authenticator
	fp   string // fingerprint of the credentials: part of every cache key
}

// target selects the rule for ref (no network) and picks its credentials.
func (c *Client) target(r imageref.Ref, keys Keychain) (target, error) {
	ref := r.Original
	i, ok := c.ruleFor(r)
	if !ok {
		return target{}, &Error{Kind: KindNotSelected, Ref: ref}
	}
	var opts []name.Option
	if c.rules[i].Insecure {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(r.Path, opts...)
	if err != nil {
		return target{}, &Error{Kind: KindInvalid, Ref: ref, Err: err}
	}
	t := target{rule: i, repo: repo, auth: authn.Anonymous, fp: "anonymous"}
	if keys == nil || c.rules[i].Credentials == CredentialsAnonymous {
		return t, nil
	}
	if t.auth, err = keys.Resolve(repo); err != nil {
		return target{}, &Error{Kind: KindUnauthorized, Ref: ref, Err: fmt.Errorf("credentials: %w", err)}
	}
	if t.fp, err = fingerprint(t.auth); err != nil {
		return target{}, &Error{Kind: KindUnauthorized, Ref: ref, Err: fmt.Errorf("credentials: %w", err)}
	}
	return t, nil
}

// fingerprint hashes credentials, so caches never share a result between
// callers holding different credentials.
func fingerprint(a authn.Authenticator) (string, error) {
	if a == authn.Anonymous {
		return "anonymous", nil
	}
	cfg, err := a.Authorization()
	if err != nil {
		return "", err
	}
	// Every field, each ended by a NUL (which none of them may hold).
	h := sha256.New()
	for _, f := range []string{cfg.Username, cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// roundTripper returns an authenticated transport for t, made once per
// (repository, credentials) and reused: the auth handshake (GET /v2/ and,
// for bearer registries, a token) is not repeated on every lookup.
func (c *Client) roundTripper(ctx context.Context, t target) (http.RoundTripper, error) {
	key := t.repo.Name() + "|" + t.fp
	c.mu.Lock()
	e, ok := c.auths[key]
	c.mu.Unlock()
	if ok && c.opts.Now().Before(e.expires) {
		return e.rt, nil
	}
	start := c.opts.Now()
	rt, err := transport.NewWithContext(ctx, t.repo.Registry, t.auth, c.httpTransport(t.rule),
		[]string{t.repo.Scope(transport.PullScope)})
	c.observe(t, "auth", start, err)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.auths[key] = authEntry{rt: rt, expires: c.opts.Now().Add(authTTL)}
	c.mu.Unlock()
	return rt, nil
}

// forgetAuth drops a cached transport after the registry refused it.
func (c *Client) forgetAuth(t target) {
	c.mu.Lock()
	delete(c.auths, t.repo.Name()+"|"+t.fp)
	c.mu.Unlock()
}

func (c *Client) observe(t target, op string, start time.Time, err error) {
	c.opts.Observer.Request(c.rules[t.rule].Pattern, op, c.opts.Now().Sub(start), kindOrNone(err))
}

func kindOrNone(err error) Kind {
	if err == nil {
		return ""
	}
	return kindOf(err)
}
