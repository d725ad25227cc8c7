package sigverify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// HTTPRegistry speaks the OCI distribution API over HTTPS (HTTP only for
// hosts named insecure), with auth from a keychain.
type HTTPRegistry struct {
	// Base is the transport requests go through (TLS config, timeouts).
	Base http.RoundTripper
	// Keychain gives credentials; nil means anonymous.
	Keychain authn.Keychain
	// Insecure lists hosts reached over plain HTTP.
	Insecure map[string]bool

	mu         sync.Mutex
	transports map[string]http.RoundTripper
}

var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
}, ",")

// Resolve implements Registry with one HEAD.
func (r *HTTPRegistry) Resolve(ctx context.Context, repo, tag string) (string, error) {
	resp, err := r.do(ctx, http.MethodHead, repo, "manifests/"+tag, manifestAccept)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	d := resp.Header.Get("Docker-Content-Digest")
	if _, err := v1.NewHash(d); err != nil {
		return "", fmt.Errorf("resolve %s:%s: registry sent no valid Docker-Content-Digest (%q)", repo, tag, d)
	}
	return d, nil
}

// Manifest implements Registry; a manifest fetched by digest must hash to it.
func (r *HTTPRegistry) Manifest(ctx context.Context, repo, ref string) (*Manifest, error) {
	resp, err := r.do(ctx, http.MethodGet, repo, "manifests/"+ref, manifestAccept)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("manifest %s@%s: %w", repo, ref, err)
	}
	m := &Manifest{Digest: digestOf(raw), MediaType: mediaType(resp.Header.Get("Content-Type"), raw), Raw: raw}
	if strings.HasPrefix(ref, "sha256:") && m.Digest != ref {
		return nil, fmt.Errorf("manifest %s@%s: content hashes to %s", repo, ref, m.Digest)
	}
	return m, nil
}

// Referrers implements Registry; a 404 means the API is missing (a registry
// with the API answers an empty index for a digest without referrers).
func (r *HTTPRegistry) Referrers(ctx context.Context, repo, digest string) ([]v1.Descriptor, error) {
	resp, err := r.do(ctx, http.MethodGet, repo, "referrers/"+digest, "application/vnd.oci.image.index.v1+json")
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrReferrersUnsupported
		}
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("referrers of %s@%s: %w", repo, digest, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("referrers of %s@%s: not an image index: %w", repo, digest, err)
	}
	return idx.Manifests, nil
}

// Blob implements Registry and checks the content against its digest.
func (r *HTTPRegistry) Blob(ctx context.Context, repo, digest string, max int64) ([]byte, error) {
	resp, err := r.do(ctx, http.MethodGet, repo, "blobs/"+digest, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, max)
	if err != nil {
		return nil, fmt.Errorf("blob %s@%s: %w", repo, digest, err)
	}
	if got := digestOf(raw); got != digest {
		return nil, fmt.Errorf("blob %s@%s: content hashes to %s", repo, digest, got)
	}
	return raw, nil
}

// do sends one request; a status other than 200 becomes an error, 404 one
// that wraps ErrNotFound.
func (r *HTTPRegistry) do(ctx context.Context, method, repo, path, accept string) (*http.Response, error) {
	ref, err := name.NewRepository(repo, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repo, err)
	}
	rt, err := r.transport(ctx, ref)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if r.Insecure[ref.RegistryStr()] {
		scheme = "http"
	}
	u := fmt.Sprintf("%s://%s/v2/%s/%s", scheme, ref.RegistryStr(), ref.RepositoryStr(), path)
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%s %s: %w", method, u, ErrNotFound)
	}
	body, _ := readLimited(resp.Body, 1024)
	return nil, &StatusError{Method: method, URL: u, Code: resp.StatusCode, Body: strings.TrimSpace(string(body))}
}

// transport returns an authenticating transport for the repository, made
// once per registry host and pull scope.
func (r *HTTPRegistry) transport(ctx context.Context, repo name.Repository) (http.RoundTripper, error) {
	key := repo.Name()
	r.mu.Lock()
	defer r.mu.Unlock()
	if rt, ok := r.transports[key]; ok {
		return rt, nil
	}
	kc := r.Keychain
	if kc == nil {
		kc = authn.NewMultiKeychain()
	}
	auth, err := kc.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo, err)
	}
	base := r.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if !r.Insecure[repo.RegistryStr()] {
		// go-containerregistry falls back to plain HTTP for loopback and
		// private addresses; only hosts named insecure may be reached so.
		base = httpsOnly{base}
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", repo.RegistryStr(), err)
	}
	if r.transports == nil {
		r.transports = map[string]http.RoundTripper{}
	}
	r.transports[key] = rt
	return rt, nil
}

// httpsOnly refuses plain-HTTP requests.
type httpsOnly struct{ base http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing plain HTTP to %s (the registry is not configured as insecure)", r.URL.Host)
	}
	return h.base.RoundTrip(r)
}

// StatusError is a registry answer that is neither 200 nor 404.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: registry answered %d %s: %s", e.Method, e.URL, e.Code, http.StatusText(e.Code), e.Body)
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// mediaType prefers the manifest's own mediaType field over the header.
func mediaType(header string, raw []byte) string {
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.MediaType != "" {
		return probe.MediaType
	}
	return strings.TrimSpace(strings.Split(header, ";")[0])
}
