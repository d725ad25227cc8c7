// Package config reads Tollgate's versioned config file. A bad file is an
// error that names the problem; callers keep the last good config.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/pinning"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/registry"
	"github.com/tollgate-dev/tollgate/pkg/sigverify"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// APIVersion and Kind identify a config file.
const (
	APIVersion = "tollgate.dev/v1alpha1"
	Kind       = "Config"
)

// Config is the whole file.
type Config struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Defaults   Defaults        `json:"defaults,omitempty"`
	Quota      Quota           `json:"quota,omitempty"`
	Policies   policy.Settings `json:"policies,omitempty"`
	Workloads  Workloads       `json:"workloads,omitempty"`
	// Registries says which registries may be contacted and how (pkg/registry).
	Registries registry.Settings `json:"registries,omitempty"`
	// Pinning selects image tags to pin to digests (pkg/pinning).
	Pinning pinning.Settings `json:"pinning,omitempty"`
	// Verification configures signature and attestation checks.
	Verification sigverify.Settings `json:"verification,omitempty"`

	pinning *pinning.Policy
	// verification is Verification compiled (keys and roots read).
	verification *sigverify.Config
}

// Defaults holds the cluster-wide defaults profiles.
type Defaults struct {
	Profiles []Profile `json:"profiles,omitempty"`
}

// Profile is a LimitRange-shaped set of defaults for the namespaces its
// selector matches (a nil selector matches every namespace).
type Profile struct {
	Name              string                  `json:"name"`
	NamespaceSelector *metav1.LabelSelector   `json:"namespaceSelector,omitempty"`
	Limits            []corev1.LimitRangeItem `json:"limits"`

	selector labels.Selector
}

// Quota is the `quota:` block.
type Quota struct {
	Mode          quota.Mode      `json:"mode,omitempty"`
	WarnThreshold int             `json:"warnThreshold,omitempty"`
	LedgerTTL     metav1.Duration `json:"ledgerTTL,omitempty"`
}

// Workloads is the `workloads:` block: checks of the Pods a workload
// (Deployment, Job, ...) will create, made when the workload is applied.
type Workloads struct {
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// Quota, Limits and Policies are warn (default), deny or off each.
	Quota    workload.Mode `json:"quota,omitempty"`
	Limits   workload.Mode `json:"limits,omitempty"`
	Policies workload.Mode `json:"policies,omitempty"`
}

// Default is the config used when no file is given: quota predictions deny,
// warn at 90%, no profiles, shipped policies at their own defaults.
func Default() *Config {
	c := &Config{APIVersion: APIVersion, Kind: Kind}
	if err := c.complete(); err != nil {
		panic(fmt.Sprintf("default config is invalid: %v", err)) // a bug, not input
	}
	c.verification, _ = c.Verification.Compile("")
	return c
}

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := ParseIn(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a config strictly (unknown fields are errors) and validates
// it; relative file names in it are taken from the working directory.
func Parse(data []byte) (*Config, error) { return ParseIn(data, "") }

// ParseIn is Parse with relative file names taken from dir.
func ParseIn(data []byte, dir string) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty config: want apiVersion " + APIVersion + ", kind " + Kind)
	}
	var c Config
	if err := decodeStrict(data, &c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %s, kind %s", c.APIVersion, c.Kind, APIVersion, Kind)
	}
	if err := c.complete(); err != nil {
		return nil, err
	}
	var err error
	if c.verification, err = c.Verification.Compile(dir); err != nil {
		return nil, err
	}
	return &c, nil
}

// complete validates the config and fills defaults.
func (c *Config) complete() error {
	var errs []error
	names := map[string]bool{}
	for i := range c.Defaults.Profiles {
		p := &c.Defaults.Profiles[i]
		where := fmt.Sprintf("defaults.profiles[%d]", i)
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", where))
		} else if names[p.Name] {
			errs = append(errs, fmt.Errorf("%s.name: duplicate profile %q", where, p.Name))
		}
		names[p.Name] = true
		sel, err := selectorOrEverything(p.NamespaceSelector)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.namespaceSelector: %w", where, err))
		}
		p.selector = sel
		errs = append(errs, validateLimits(where+".limits", p.Limits)...)
	}
	switch c.Quota.Mode {
	case "":
		c.Quota.Mode = quota.ModeDeny
	case quota.ModeDeny, quota.ModeWarn, quota.ModeOff:
	default:
		errs = append(errs, fmt.Errorf("quota.mode: %q is not one of deny, warn, off", c.Quota.Mode))
	}
	switch {
	case c.Quota.WarnThreshold == 0:
		c.Quota.WarnThreshold = 90
	case c.Quota.WarnThreshold < 1 || c.Quota.WarnThreshold > 100:
		errs = append(errs, fmt.Errorf("quota.warnThreshold: %d is not a percentage from 1 to 100", c.Quota.WarnThreshold))
	}
	switch {
	case c.Quota.LedgerTTL.Duration == 0:
		c.Quota.LedgerTTL.Duration = 30 * time.Second
	case c.Quota.LedgerTTL.Duration < 0:
		errs = append(errs, fmt.Errorf("quota.ledgerTTL: %s is negative", c.Quota.LedgerTTL.Duration))
	}
	switch c.Policies.FailureMode {
	case "":
		c.Policies.FailureMode = "closed"
	case "closed", "open":
	default:
		errs = append(errs, fmt.Errorf("policies.failureMode: %q is not one of closed, open", c.Policies.FailureMode))
	}
	for name, r := range c.Policies.Rules {
		switch r.Action {
		case "", "deny", "warn", "dryrun", "off":
		default:
			errs = append(errs, fmt.Errorf("policies.settings.%s.action: %q is not one of deny, warn, dryrun, off", name, r.Action))
		}
		if _, err := selectorOrEverything(r.ExemptNamespaces); err != nil {
			errs = append(errs, fmt.Errorf("policies.settings.%s.exemptNamespaces: %w", name, err))
		}
	}
	errs = append(errs, c.Workloads.complete()...)
	if err := registry.Validate(&c.Registries); err != nil {
		errs = append(errs, err)
	}
	p, err := c.Pinning.Compile()
	if err != nil {
		errs = append(errs, err)
	}
	c.pinning = p
	if p.Enabled() && len(c.Registries.Access) == 0 {
		errs = append(errs, errors.New("pinning.rules: no registries.access rule allows contacting a registry; add one for each registry you pin"))
	}
	return errors.Join(errs...)
}

// complete validates the workloads block and fills its defaults.
func (w *Workloads) complete() []error {
	var errs []error
	if w.Enabled == nil {
		enabled := true
		w.Enabled = &enabled
	}
	for _, m := range []struct {
		name string
		mode *workload.Mode
	}{{"quota", &w.Quota}, {"limits", &w.Limits}, {"policies", &w.Policies}} {
		switch {
		case *m.mode == "":
			*m.mode = workload.ModeWarn
		case !m.mode.Valid():
			errs = append(errs, fmt.Errorf("workloads.%s: %q is not one of warn, deny, off", m.name, *m.mode))
		}
	}
	return errs
}

// VerificationConfig is the compiled verification block.
func (c *Config) VerificationConfig() *sigverify.Config { return c.verification }

// QuotaOptions is the quota block as the quota check takes it.
func (c *Config) QuotaOptions() quota.Options {
	return quota.Options{Mode: c.Quota.Mode, WarnThreshold: c.Quota.WarnThreshold, LedgerTTL: c.Quota.LedgerTTL.Duration}
}

// WorkloadOptions is the workloads block as the workload checks take it.
func (c *Config) WorkloadOptions() workload.Options {
	return workload.Options{
		Enabled: c.Workloads.Enabled == nil || *c.Workloads.Enabled,
		Quota:   c.Workloads.Quota, Limits: c.Workloads.Limits, Policies: c.Workloads.Policies,
	}
}

// ProfilesFor returns, in file order, the profiles whose selector matches ns.
func (c *Config) ProfilesFor(ns *corev1.Namespace) []defaults.Profile {
	var out []defaults.Profile
	var nsLabels labels.Set
	if ns != nil {
		nsLabels = ns.Labels
	}
	for _, p := range c.Defaults.Profiles {
		if p.selector == nil || p.selector.Matches(nsLabels) {
			out = append(out, defaults.Profile{Name: p.Name, Limits: p.Limits})
		}
	}
	return out
}

func selectorOrEverything(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}

// PinningPolicy is the compiled pinning block (never nil after Parse or Default).
func (c *Config) PinningPolicy() *pinning.Policy { return c.pinning }
