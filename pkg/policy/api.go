package policy

import (
	"context"
	"io/fs"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Settings are the `policies:` block of the config.
type Settings struct {
	// FailureMode is "closed" (deny on evaluation error) or "open" (admit with a warning).
	FailureMode string `json:"failureMode,omitempty"`
	// Rules are keyed by policy name.
	Rules map[string]Rule `json:"settings,omitempty"`
}

// Rule is how one policy is applied.
type Rule struct {
	Action           string                `json:"action,omitempty"` // deny, warn, dryrun, off
	Parameters       map[string]any        `json:"parameters,omitempty"`
	ExemptNamespaces *metav1.LabelSelector `json:"exemptNamespaces,omitempty"`
	ExemptImages     []string              `json:"exemptImages,omitempty"`
}

// Request is the part of the AdmissionRequest policies see.
type Request struct {
	Operation   string
	SubResource string
	Namespace   string
	Name        string
	DryRun      bool
	UserInfo    authenticationv1.UserInfo
}

// Input is everything one evaluation sees.
type Input struct {
	Request   Request
	Object    *corev1.Pod // after defaults
	OldObject *corev1.Pod // UPDATE only
	Namespace *corev1.Namespace
}

// Engine holds compiled policies; safe for concurrent use.
type Engine struct{}

// New loads every .rego file (not _test.rego) from each source and compiles them once.
func New(ctx context.Context, sources ...fs.FS) (*Engine, error) { return &Engine{}, nil }

// Validate checks that settings name known policies with valid actions.
func (e *Engine) Validate(s Settings) error { return nil }

// Evaluate runs every enabled policy against in.
func (e *Engine) Evaluate(ctx context.Context, in Input, s Settings) (verdict.Verdict, error) {
	return verdict.Verdict{}, nil // TODO(policy helper): implement
}
