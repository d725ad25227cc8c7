package sigverify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
)

// Fixture names the registry a policy author tests against offline: an
// OCI image layout directory (see Layout) or the URL of a registry on
// loopback that answers for every image host the Pods name.
type Fixture struct {
	Layout string `json:"layout,omitempty"`
	URL    string `json:"url,omitempty"`
	// CAFile is the CA of an https URL's certificate (default: system roots).
	CAFile string `json:"caFile,omitempty"`
}

// ParseFixture reads a command line value: a URL (http:// or https://) or
// a layout directory.
func ParseFixture(arg, caFile string) Fixture {
	if strings.HasPrefix(arg, "https://") || strings.HasPrefix(arg, "http://") {
		return Fixture{URL: arg, CAFile: caFile}
	}
	return Fixture{Layout: arg, CAFile: caFile}
}

// Open makes the fixture's registry access; relative paths are taken from dir.
func (f Fixture) Open(dir string) (Registries, error) {
	rel := func(p string) string {
		if p != "" && !filepath.IsAbs(p) {
			return filepath.Join(dir, p)
		}
		return p
	}
	var reg Registry
	switch {
	case (f.Layout == "") == (f.URL == ""):
		return nil, errors.New("registry fixture: set exactly one of layout and url")
	case f.Layout != "":
		l, err := OpenLayout(rel(f.Layout))
		if err != nil {
			return nil, err
		}
		reg = l
	default:
		r, err := urlRegistry(f.URL, rel(f.CAFile))
		if err != nil {
			return nil, err
		}
		reg = r
	}
	return func(context.Context, *corev1.Pod) RegistryFor {
		return func(string) Registry { return reg }
	}, nil
}

// urlRegistry serves every repository from the registry at raw, whatever
// host the image names.
func urlRegistry(raw, caFile string) (Registry, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("registry fixture %q: want https://HOST[:PORT] or http://HOST[:PORT]", raw)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = nil
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("registry fixture CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry fixture CA %s: no PEM certificate", caFile)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	h := &HTTPRegistry{Base: base, Insecure: map[string]bool{u.Host: u.Scheme == "http"}}
	return rehosted{host: u.Host, reg: h}, nil
}

// rehosted sends every repository to one registry host.
type rehosted struct {
	host string
	reg  Registry
}

func (r rehosted) repo(repo string) string {
	_, path, _ := strings.Cut(repo, "/")
	return r.host + "/" + path
}

func (r rehosted) Resolve(ctx context.Context, repo, tag string) (string, error) {
	return r.reg.Resolve(ctx, r.repo(repo), tag)
}

func (r rehosted) Manifest(ctx context.Context, repo, ref string) (*Manifest, error) {
	return r.reg.Manifest(ctx, r.repo(repo), ref)
}

func (r rehosted) Referrers(ctx context.Context, repo, digest string) ([]v1.Descriptor, error) {
	return r.reg.Referrers(ctx, r.repo(repo), digest)
}

func (r rehosted) Blob(ctx context.Context, repo, digest string, max int64) ([]byte, error) {
	return r.reg.Blob(ctx, r.repo(repo), digest, max)
}
