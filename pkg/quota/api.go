package quota

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Mode says what a predicted quota overrun does.
type Mode string

// Modes.
const (
	// ModeDeny (the default) denies what the in-tree plugin is predicted to deny.
	ModeDeny Mode = "deny"
	// ModeWarn never denies: every predicted denial becomes a warning.
	ModeWarn Mode = "warn"
	// ModeOff turns the quota check off entirely.
	ModeOff Mode = "off"
)

// Options configure the headroom check (the `quota:` block of the config).
type Options struct {
	Mode Mode `json:"mode,omitempty"`
	// WarnThreshold is the percentage of hard past which admitting warns
	// (0 means 90).
	WarnThreshold int `json:"warnThreshold,omitempty"`
	// LedgerTTL bounds how long an admitted, not yet counted Pod is
	// remembered (0 means 30s).
	LedgerTTL time.Duration `json:"-"`
}

// Input is one Pod admission as the quota check sees it.
type Input struct {
	Operation string // CREATE or UPDATE
	Pod       *corev1.Pod
	OldPod    *corev1.Pod // UPDATE only
	// Quotas are the ResourceQuotas of the Pod's namespace, with status.
	Quotas []corev1.ResourceQuota
	DryRun bool
	// RequestUID is the AdmissionRequest's uid. The Ledger keys a charge by
	// the Pod's metadata.uid (set by the API server before admission, so
	// stable across retries of one create) and falls back to this.
	RequestUID string
	Options    Options
	// Now is used only to tell whether a deleting Pod's grace ran out; the
	// zero time skips that test. Ledger.Check fills it from its clock.
	Now time.Time
}

// Check predicts whether the in-tree ResourceQuota plugin admits the Pod
// and explains the answer: under ModeDeny a predicted denial is a reason
// (quota.exceeded, quota.must-specify, quota.status-unknown); under
// ModeWarn it is a warning that starts with the same code; under ModeOff
// nothing is checked. Resources that end at or past the warn threshold of
// a quota add a "quota.near-limit: " warning, unless the Pod is denied.
// Check has no pending charges; Ledger.Check adds them, and they only ever
// warn ("quota.pending-charges: ").
func Check(in Input) verdict.Verdict {
	if in.Options.Mode == ModeOff {
		return verdict.Verdict{}
	}
	return render(predict(in, nil, false), in.Options.Mode)
}

// render turns a prediction into a verdict under the mode.
func render(p prediction, mode Mode) verdict.Verdict {
	var v verdict.Verdict
	for _, pr := range p.problems {
		if mode == ModeWarn {
			v.Warn(pr.code, pr.resources, pr.code+": "+pr.message)
			continue
		}
		v.Reasons = append(v.Reasons, verdict.Reason{Code: pr.code, Path: pr.path, Message: pr.message, Resources: pr.resources})
	}
	if !v.Allowed() {
		return v // the Pod is not admitted: "after this Pod" would be false
	}
	v.Warnings = append(v.Warnings, p.pending...)
	v.Warnings = append(v.Warnings, p.nearLimit...)
	return v
}
