// Package verdict holds the result every decision returns: the reasons a
// request is denied and the warnings shown to the user. A denial is data;
// an error returned beside a verdict always means a malfunction.
package verdict

import "strings"

// Reason is one cause for denying a request.
type Reason struct {
	// Code is stable and machine readable, e.g. "limits.max" or "quota.exceeded".
	Code string `json:"code"`
	// Message is written for humans and names what was requested and allowed.
	Message string `json:"message"`
	// Path is the field path the reason is about, e.g. spec.containers[0].resources.limits.cpu.
	Path string `json:"path,omitempty"`
}

// Verdict is what a decision concluded about one request.
type Verdict struct {
	Reasons  []Reason `json:"reasons,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Allowed reports whether the verdict admits the request.
func (v Verdict) Allowed() bool { return len(v.Reasons) == 0 }

// Deny adds a reason.
func (v *Verdict) Deny(code, path, message string) {
	v.Reasons = append(v.Reasons, Reason{Code: code, Path: path, Message: message})
}

// Warn adds a warning.
func (v *Verdict) Warn(message string) { v.Warnings = append(v.Warnings, message) }

// Merge combines verdicts in order, keeping every reason and warning
// (duplicate warnings are dropped, since the user would see them twice).
func Merge(vs ...Verdict) Verdict {
	var out Verdict
	seen := map[string]bool{}
	for _, v := range vs {
		out.Reasons = append(out.Reasons, v.Reasons...)
		for _, w := range v.Warnings {
			if !seen[w] {
				seen[w] = true
				out.Warnings = append(out.Warnings, w)
			}
		}
	}
	return out
}

// Message joins every reason into one human readable sentence list,
// the form the API server shows after `pods "x" is forbidden: `.
func (v Verdict) Message() string {
	msgs := make([]string, 0, len(v.Reasons))
	for _, r := range v.Reasons {
		msgs = append(msgs, r.Message)
	}
	return strings.Join(msgs, "; ")
}
