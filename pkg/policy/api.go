package policy

import (
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// Settings are the `policies:` block of the config.
type Settings struct {
	// FailureMode is "closed" (deny on evaluation error) or "open" (admit with a warning).
	// Empty means closed.
	FailureMode string `json:"failureMode,omitempty"`
	// Rules are keyed by policy name.
	Rules map[string]Rule `json:"settings,omitempty"`
	// Overrides names the policies a policy directory may replace; any
	// other replacement is refused when the config is loaded.
	Overrides []string `json:"overrides,omitempty"`
}

// Failure modes.
const (
	FailureClosed = "closed"
	FailureOpen   = "open"
)

// Actions a policy can be applied with.
const (
	// ActionDeny turns deny results into reasons (warn results stay warnings).
	ActionDeny = "deny"
	// ActionWarn turns every result into an admission warning.
	ActionWarn = "warn"
	// ActionDryRun evaluates the policy and reports results only to the Observer.
	ActionDryRun = "dryrun"
	// ActionOff skips the policy.
	ActionOff = "off"
)

// Rule is how one policy is applied.
type Rule struct {
	// Action is deny, warn, dryrun or off; empty means the policy's own
	// default (metadata.defaultAction, else deny).
	Action string `json:"action,omitempty"`
	// Parameters become input.parameters; nil means {}.
	Parameters map[string]any `json:"parameters,omitempty"`
	// ExemptNamespaces skips the policy in namespaces whose labels match.
	ExemptNamespaces *metav1.LabelSelector `json:"exemptNamespaces,omitempty"`
	// ExemptImages drops results about containers whose image matches one of
	// these patterns (see imageref.Pattern).
	ExemptImages []string `json:"exemptImages,omitempty"`
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
	Request Request
	Object  *corev1.Pod // after defaults
	// ObjectJSON, when set, is Object's JSON as the API server sent it;
	// input.object is then read from it (jsonValue) instead of converted
	// from Object. It must be exactly Object's JSON.
	ObjectJSON []byte
	OldObject  *corev1.Pod // UPDATE only
	Namespace  *corev1.Namespace
	// Images are the signature verification results of the Pod's images,
	// keyed by the reference as written; nil when nothing was verified.
	Images map[string]provenance.Image
}

// Outcomes reported to an Observer.
const (
	OutcomeAllow  = "allow"  // evaluated, no results
	OutcomeDeny   = "deny"   // at least one reason added
	OutcomeWarn   = "warn"   // only warnings added
	OutcomeDryRun = "dryrun" // results found but not enforced
	OutcomeExempt = "exempt" // skipped: namespace exempt
	OutcomeError  = "error"  // evaluation failed; FailureMode decided
)

// Observation is what one policy evaluation reports to an Observer.
type Observation struct {
	Policy   string
	Duration time.Duration
	Outcome  string
	// Messages are the results (prefixed with the policy name) for
	// deny, warn and dryrun outcomes, and the error text for errors.
	Messages []string
	// Err is the evaluation error for OutcomeError.
	Err error
}

// Observer receives one Observation per policy per Evaluate call (policies
// that are off are not reported). It runs synchronously on the request path
// and must be fast and safe for concurrent use.
type Observer func(Observation)
