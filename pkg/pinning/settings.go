// Package pinning decides which image references of a Pod are rewritten
// from a tag to "repo:tag@sha256:..." and applies resolved digests. It is a
// decision package: the registry lookups happen before, in plumbing
// (pkg/registry), and arrive here as plain Resolutions.
package pinning

import (
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// OnError is what happens to a Pod when a tag cannot be resolved.
type OnError string

const (
	// AdmitUnpinned admits the Pod with the tag as written, and a warning (default).
	AdmitUnpinned OnError = "admit-unpinned-with-warning"
	// Deny refuses the Pod, naming the image and the registry failure.
	Deny OnError = "deny"
)

// Settings is the `pinning:` block. Pinning is off unless a rule selects an
// image; the registry itself must also be allowed by `registries.access`.
type Settings struct {
	// Rules select images to pin; the first rule matching both the image and
	// the namespace applies.
	Rules []Rule `json:"rules,omitempty"`
	// OnError is admit-unpinned-with-warning (default) or deny.
	OnError OnError `json:"onError,omitempty"`
	// TagTTL is how long a resolved tag is reused for pinning (default 5s,
	// at most 60s; 0s in the file is taken as the default).
	TagTTL metav1.Duration `json:"tagTTL,omitempty"`
}

// Rule selects image references in some namespaces.
type Rule struct {
	// Images are image patterns (pkg/imageref grammar), e.g. "registry.example.com/team".
	Images []string `json:"images"`
	// NamespaceSelector limits the rule to namespaces with these labels (nil: all).
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// DefaultTagTTL and MaxTagTTL bound the tag cache used for pinning.
const (
	DefaultTagTTL = 5 * time.Second
	MaxTagTTL     = 60 * time.Second
)

// Policy is the compiled `pinning:` block.
type Policy struct {
	rules   []compiledRule
	OnError OnError
}

type compiledRule struct {
	images   []imageref.Pattern
	selector labels.Selector
}

// Compile validates s, fills its defaults and compiles it.
func (s *Settings) Compile() (*Policy, error) {
	var errs []error
	switch s.OnError {
	case "":
		s.OnError = AdmitUnpinned
	case AdmitUnpinned, Deny:
	default:
		errs = append(errs, fmt.Errorf("pinning.onError: %q is not one of %s, %s", s.OnError, AdmitUnpinned, Deny))
	}
	switch {
	case s.TagTTL.Duration == 0:
		s.TagTTL.Duration = DefaultTagTTL
	case s.TagTTL.Duration < 0 || s.TagTTL.Duration > MaxTagTTL:
		errs = append(errs, fmt.Errorf("pinning.tagTTL: %s is not between 0s and 60s (tags move; the cache is for seconds)", s.TagTTL.Duration))
	}
	p := &Policy{OnError: s.OnError}
	for i, r := range s.Rules {
		where := fmt.Sprintf("pinning.rules[%d]", i)
		cr, err := compileRule(r)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		p.rules = append(p.rules, cr)
	}
	return p, errors.Join(errs...)
}

func compileRule(r Rule) (compiledRule, error) {
	cr := compiledRule{selector: labels.Everything()}
	if len(r.Images) == 0 {
		return cr, errors.New("images: at least one pattern is required")
	}
	for _, s := range r.Images {
		p, err := imageref.CompilePattern(s)
		if err != nil {
			return cr, fmt.Errorf("images: %w", err)
		}
		if p.HasTagOrDigest() {
			return cr, fmt.Errorf("images: %q names a tag or digest; pinning patterns name registries or repositories", s)
		}
		cr.images = append(cr.images, p)
	}
	if r.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(r.NamespaceSelector)
		if err != nil {
			return cr, fmt.Errorf("namespaceSelector: %w", err)
		}
		cr.selector = sel
	}
	return cr, nil
}

// Enabled reports whether any rule exists.
func (p *Policy) Enabled() bool { return p != nil && len(p.rules) > 0 }

// selects reports whether a rule pins ref in a namespace with nsLabels.
func (p *Policy) selects(ref imageref.Ref, nsLabels labels.Set) bool {
	for _, r := range p.rules {
		if !r.selector.Matches(nsLabels) {
			continue
		}
		for _, pat := range r.images {
			if pat.Match(ref) {
				return true
			}
		}
	}
	return false
}
