package workload

import (
	"encoding/json"
	"fmt"
)

// Mode says what a finding of one kind of check does.
type Mode string

// Modes.
const (
	// ModeWarn (the default) turns findings into admission warnings.
	ModeWarn Mode = "warn"
	// ModeDeny refuses the workload when its Pods would certainly fail.
	ModeDeny Mode = "deny"
	// ModeOff skips the check.
	ModeOff Mode = "off"
)

// Options are the `workloads:` block of the config.
type Options struct {
	// Enabled false makes every workload request pass silently.
	Enabled bool
	// Quota, Limits and Policies set the mode of each check; empty is warn.
	Quota    Mode
	Limits   Mode
	Policies Mode
}

// DefaultOptions is the behaviour without a config: everything on, warn only.
func DefaultOptions() Options {
	return Options{Enabled: true, Quota: ModeWarn, Limits: ModeWarn, Policies: ModeWarn}
}

// Valid reports whether m is one of the modes (empty counts as warn).
func (m Mode) Valid() bool {
	switch m {
	case "", ModeWarn, ModeDeny, ModeOff:
		return true
	}
	return false
}

// UnmarshalJSON reads a mode. YAML 1.1 (which the config reader follows)
// turns an unquoted off into the boolean false; that is read as off, so
// `quota: off` means what it says.
func (m *Mode) UnmarshalJSON(data []byte) error {
	if string(data) == "false" {
		*m = ModeOff
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("mode must be one of warn, deny, off: %w", err)
	}
	*m = Mode(s)
	return nil
}
