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
	ModeDeny Mode = "deny"
	ModeWarn Mode = "warn"
	ModeOff  Mode = "off"
)

// Options configure the headroom check (the `quota:` block of the config).
type Options struct {
	Mode Mode `json:"mode,omitempty"`
	// WarnThreshold is the percentage of hard past which admitting warns.
	WarnThreshold int `json:"warnThreshold,omitempty"`
	// LedgerTTL bounds how long an admitted, not yet counted Pod is remembered.
	LedgerTTL time.Duration `json:"-"`
}

// Input is one Pod admission as the quota check sees it.
type Input struct {
	Operation string // CREATE or UPDATE
	Pod       *corev1.Pod
	OldPod    *corev1.Pod // UPDATE only
	Quotas    []corev1.ResourceQuota
	DryRun    bool
	Options   Options
}

// Check predicts whether the in-tree ResourceQuota plugin admits the Pod.
func Check(in Input) verdict.Verdict {
	return verdict.Verdict{} // TODO(quota helper): implement
}

// Ledger remembers what this replica admitted that quota status does not show yet.
type Ledger struct{}

// NewLedger makes a ledger; clock is injected so tests control time.
func NewLedger(clock func() time.Time) *Ledger { return &Ledger{} }

// Check is Check plus the charges admitted recently; on an allowed,
// non-dry-run CREATE it records the Pod's usage. A nil Ledger is plain Check.
func (l *Ledger) Check(in Input) verdict.Verdict { return Check(in) }
