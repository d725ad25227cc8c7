package workload

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
