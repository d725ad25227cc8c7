package registry

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Credentials says where a rule's registry credentials come from.
type Credentials string

const (
	// CredentialsPullSecrets uses the Pod's imagePullSecrets and those of its
	// service account (the default).
	CredentialsPullSecrets Credentials = "pullSecrets"
	// CredentialsAnonymous sends no credentials.
	CredentialsAnonymous Credentials = "anonymous"
)

// Defaults for the `registries:` block.
const (
	DefaultTimeout           = 2 * time.Second
	DefaultMaxConcurrent     = 32
	DefaultPerHostConcurrent = 8
)

// Settings is the `registries:` block of the config file: the registries
// Tollgate may contact and how. It says nothing about what to do with them
// (pinning and verification have their own blocks).
type Settings struct {
	// MaxConcurrent bounds registry operations in flight across all registries.
	MaxConcurrent int `json:"maxConcurrent,omitempty"`
	// PerHostConcurrent bounds registry operations in flight per registry host.
	PerHostConcurrent int `json:"perHostConcurrent,omitempty"`
	// Access lists the registries that may be contacted; the first rule whose
	// pattern matches an image reference applies. No rule, no contact.
	Access []Access `json:"access,omitempty"`
}

// Access is one rule of `registries.access`.
type Access struct {
	// Pattern is an image pattern (pkg/imageref grammar without tag or
	// digest): "registry.example.com", "127.0.0.1:5443/team", "*.corp.example".
	Pattern string `json:"pattern"`
	// CA is a PEM bundle of CAs to trust for this registry instead of the
	// system pool; CAFile names a file holding one. At most one of the two.
	CA     string `json:"ca,omitempty"`
	CAFile string `json:"caFile,omitempty"`
	// Timeout bounds each registry operation (default 2s). Keep it below the
	// webhook timeout so a slow registry is answered in time.
	Timeout metav1.Duration `json:"timeout,omitempty"`
	// Insecure allows plain HTTP to this registry. Off by default: HTTP is
	// refused even for localhost and private addresses.
	Insecure bool `json:"insecure,omitempty"`
	// Credentials is pullSecrets (default) or anonymous.
	Credentials Credentials `json:"credentials,omitempty"`
}

// rule is an Access compiled for use.
type rule struct {
	Access
	pattern imageref.Pattern
	roots   *x509.CertPool // nil: system roots
}

// compile validates the settings, fills defaults and loads CA bundles.
func (s *Settings) compile() ([]rule, error) {
	var errs []error
	if s.MaxConcurrent < 0 || s.PerHostConcurrent < 0 {
		errs = append(errs, errors.New("registries: maxConcurrent and perHostConcurrent must not be negative"))
	}
	if s.MaxConcurrent == 0 {
		s.MaxConcurrent = DefaultMaxConcurrent
	}
	if s.PerHostConcurrent == 0 {
		s.PerHostConcurrent = DefaultPerHostConcurrent
	}
	rules := make([]rule, 0, len(s.Access))
	for i := range s.Access {
		r, err := compileAccess(&s.Access[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("registries.access[%d]: %w", i, err))
			continue
		}
		rules = append(rules, r)
	}
	return rules, errors.Join(errs...)
}

func compileAccess(a *Access) (rule, error) {
	r := rule{}
	p, err := imageref.CompilePattern(a.Pattern)
	if err != nil {
		return r, fmt.Errorf("pattern: %w", err)
	}
	if a.Pattern == "*" {
		return r, errors.New(`pattern: "*" would let Tollgate contact any registry a Pod names; list the registries`)
	}
	if p.HasTagOrDigest() {
		return r, fmt.Errorf("pattern %q: a registry pattern names no tag or digest", a.Pattern)
	}
	switch {
	case a.Timeout.Duration == 0:
		a.Timeout.Duration = DefaultTimeout
	case a.Timeout.Duration < 0:
		return r, fmt.Errorf("timeout: %s is negative", a.Timeout.Duration)
	}
	switch a.Credentials {
	case "":
		a.Credentials = CredentialsPullSecrets
	case CredentialsPullSecrets, CredentialsAnonymous:
	default:
		return r, fmt.Errorf("credentials: %q is not one of pullSecrets, anonymous", a.Credentials)
	}
	pem := []byte(a.CA)
	switch {
	case a.CA != "" && a.CAFile != "":
		return r, errors.New("ca and caFile: set one, not both")
	case a.CAFile != "":
		if pem, err = os.ReadFile(a.CAFile); err != nil {
			return r, fmt.Errorf("caFile: %w", err)
		}
	}
	if len(pem) > 0 {
		r.roots = x509.NewCertPool()
		if !r.roots.AppendCertsFromPEM(pem) {
			return r, errors.New("ca: no PEM certificate found")
		}
	}
	r.Access, r.pattern = *a, p
	return r, nil
}
