package registry

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/sync/singleflight"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Keychain gives the credentials for a registry; the caller builds one per
// Pod from its pull secrets (see PullSecrets). nil means anonymous.
type Keychain = authn.Keychain

// Resolver turns a tag into the digest the registry serves for it now.
type Resolver interface {
	// Resolve returns the manifest digest ("sha256:...") that ref's tag
	// names. ref must carry a tag; a reference that no rule selects gets a
	// KindNotSelected error and no network traffic.
	Resolve(ctx context.Context, ref imageref.Ref, keys Keychain) (string, error)
	// Selected reports whether a registries rule allows contacting ref's registry.
	Selected(ref imageref.Ref) bool
}

// Observer receives the client's metrics. Rule is the pattern of the rule
// that selected the registry (a bounded label); kind is "" on success.
type Observer interface {
	TagCache(rule string, hit bool)
	Request(rule, op string, d time.Duration, kind Kind)
}

// Options tunes a Client.
type Options struct {
	// TagTTL is how long a resolved tag is reused (pinning only); 0 disables the cache.
	TagTTL time.Duration
	// Observer receives metrics; nil drops them.
	Observer Observer
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// DialContext replaces the dialer (tests count dials with it); nil means net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client is the registry client: selection, transports, limits, caches.
type Client struct {
	rules   []rule
	opts    Options
	global  chan struct{}
	perHost int

	mu         sync.Mutex
	hostSlots  map[string]chan struct{}
	httpByRule map[int]*http.Transport
	auths      map[string]authEntry // by host|repo|credentials fingerprint

	tags  *tagCache
	group singleflight.Group
}

// New validates settings (filling defaults) and returns a Client.
func New(settings Settings, opts Options) (*Client, error) {
	rules, err := settings.compile()
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.DialContext == nil {
		opts.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &Client{
		rules:      rules,
		opts:       opts,
		global:     make(chan struct{}, settings.MaxConcurrent),
		perHost:    settings.PerHostConcurrent,
		hostSlots:  map[string]chan struct{}{},
		httpByRule: map[int]*http.Transport{},
		auths:      map[string]authEntry{},
		tags:       newTagCache(opts.TagTTL, opts.Now),
	}, nil
}

// Validate checks a `registries:` block without building a client.
func Validate(settings *Settings) error {
	_, err := settings.compile()
	return err
}

// Selected implements Resolver.
func (c *Client) Selected(ref imageref.Ref) bool {
	_, ok := c.ruleFor(ref)
	return ok
}

// UsesPullSecrets reports whether a lookup of ref would send the Pod's
// pull secrets: a rule selects it and its credentials are pullSecrets. The
// caller reads no secret otherwise.
func (c *Client) UsesPullSecrets(ref imageref.Ref) bool {
	i, ok := c.ruleFor(ref)
	return ok && c.rules[i].Credentials == CredentialsPullSecrets
}

// ruleFor returns the index of the first rule matching ref.
func (c *Client) ruleFor(ref imageref.Ref) (int, bool) {
	for i := range c.rules {
		if c.rules[i].pattern.Match(ref) {
			return i, true
		}
	}
	return 0, false
}

// acquire takes a global and a per-host slot, or fails when ctx ends first.
func (c *Client) acquire(ctx context.Context, host string) (release func(), err error) {
	c.mu.Lock()
	slots, ok := c.hostSlots[host]
	if !ok {
		slots = make(chan struct{}, c.perHost)
		c.hostSlots[host] = slots
	}
	c.mu.Unlock()
	select {
	case c.global <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		<-c.global
		return nil, ctx.Err()
	}
	return func() { <-slots; <-c.global }, nil
}

// httpTransport returns the shared HTTP transport of rule i: its CA pool,
// and a guard that refuses plain HTTP unless the rule is insecure.
func (c *Client) httpTransport(i int) http.RoundTripper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.httpByRule[i]
	if !ok {
		t = &http.Transport{
			Proxy:               nil, // registries are reached directly, never through an environment proxy
			DialContext:         c.opts.DialContext,
			TLSClientConfig:     &tls.Config{RootCAs: c.rules[i].roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConnsPerHost: c.perHost,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		}
		c.httpByRule[i] = t
	}
	return &guard{inner: t, insecure: c.rules[i].Insecure}
}

// guard refuses plain HTTP unless allowed. go-containerregistry falls back
// to HTTP for localhost and private addresses on its own; this stops it.
type guard struct {
	inner    http.RoundTripper
	insecure bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !g.insecure {
		return nil, errInsecure
	}
	return g.inner.RoundTrip(req)
}

type nopObserver struct{}

func (nopObserver) TagCache(string, bool)                       {}
func (nopObserver) Request(string, string, time.Duration, Kind) {}
