package sigverify

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Settings is the config's `verification:` block.
type Settings struct {
	// Trust lists the keys and keyless identities policies may require,
	// by name, and which images each is checked for.
	Trust []TrustSpec `json:"trust,omitempty"`
	// Timeout bounds all registry work of one admission (default 5s); keep
	// it below the webhook timeout so an answer is always sent in time.
	Timeout metav1.Duration `json:"timeout,omitempty"`
	// SignedTTL (default 5m) and UnsignedTTL (default 30s) are how long
	// verified and definitively unverified answers are reused.
	SignedTTL   metav1.Duration `json:"signedTTL,omitempty"`
	UnsignedTTL metav1.Duration `json:"unsignedTTL,omitempty"`
	// AcceptPlatformSignatures: see Options.
	AcceptPlatformSignatures bool `json:"acceptPlatformSignatures,omitempty"`
}

// Config is compiled Settings.
type Config struct {
	Trusts  []*Trust
	Options Options
	Timeout time.Duration
	Cache   CacheOptions
}

// Compile checks the settings and reads key and root files, relative paths
// from dir (the config file's directory).
func (s Settings) Compile(dir string) (*Config, error) {
	c := &Config{Options: Options{AcceptPlatformSignatures: s.AcceptPlatformSignatures}}
	var errs []error
	names := map[string]bool{}
	for i, spec := range s.Trust {
		for _, p := range []*string{&spec.PublicKeyFile, &spec.TrustedRootFile} {
			if *p != "" && !filepath.IsAbs(*p) && dir != "" {
				*p = filepath.Join(dir, *p)
			}
		}
		t, err := spec.Compile()
		if err != nil {
			errs = append(errs, fmt.Errorf("verification.trust[%d]: %w", i, err))
			continue
		}
		if names[t.Name] {
			errs = append(errs, fmt.Errorf("verification.trust[%d].name: duplicate %q", i, t.Name))
		}
		names[t.Name] = true
		c.Trusts = append(c.Trusts, t)
	}
	for _, d := range []struct {
		name string
		in   time.Duration
		def  time.Duration
		out  *time.Duration
	}{
		{"timeout", s.Timeout.Duration, 5 * time.Second, &c.Timeout},
		{"signedTTL", s.SignedTTL.Duration, 5 * time.Minute, &c.Cache.SignedTTL},
		{"unsignedTTL", s.UnsignedTTL.Duration, 30 * time.Second, &c.Cache.UnsignedTTL},
	} {
		switch {
		case d.in < 0:
			errs = append(errs, fmt.Errorf("verification.%s: %s is negative", d.name, d.in))
		case d.in == 0:
			*d.out = d.def
		default:
			*d.out = d.in
		}
	}
	c.Cache.Timeout = c.Timeout
	c.Options.SignedTTL, c.Options.UnsignedTTL = c.Cache.SignedTTL, c.Cache.UnsignedTTL
	return c, errors.Join(errs...)
}
