// Package verdict holds the result every decision returns: the reasons a
// request is denied and the warnings shown to the user. A denial is data;
// an error returned beside a verdict always means a malfunction.
//
// Reasons and warnings carry a stable code and the resources they concern
// beside the message, so metrics and tests read fields, never prose: a
// message can be reworded without breaking either.
package verdict

import "strings"

// CodeUncomputable is the warning code of a request carrying a resource
// quantity too large to compute with, whose resource checks were skipped.
const CodeUncomputable = "quantity.uncomputable"

// Reason is one cause for denying a request.
type Reason struct {
	// Code is stable and machine readable, e.g. "limits.max" or "quota.exceeded".
	Code string `json:"code"`
	// Message is written for humans and names what was requested and allowed.
	Message string `json:"message"`
	// Path is the field path the reason is about, e.g. spec.containers[0].resources.limits.cpu.
	Path string `json:"path,omitempty"`
	// Resources names the resources the reason concerns, as a quota names
	// them ("requests.cpu", "pods"); empty when it concerns none. The API
	// server's answer has no place for them, so neither has the JSON form
	// (what `tollgate eval` shows is what the API server would).
	Resources []string `json:"-"`
}

// Warning is one admission warning.
type Warning struct {
	// Code is stable and machine readable, e.g. "quota.near-limit".
	Code string `json:"code"`
	// Resources names the resources the warning concerns, as for Reason.
	Resources []string `json:"resources,omitempty"`
	// Message is the text the user sees, exactly as sent.
	Message string `json:"message"`
}

// Verdict is what a decision concluded about one request.
type Verdict struct {
	Reasons  []Reason  `json:"reasons,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// Allowed reports whether the verdict admits the request.
func (v Verdict) Allowed() bool { return len(v.Reasons) == 0 }

// Deny adds a reason that concerns no resource in particular.
func (v *Verdict) Deny(code, path, message string) {
	v.Reasons = append(v.Reasons, Reason{Code: code, Path: path, Message: message})
}

// Warn adds a warning.
func (v *Verdict) Warn(code string, resources []string, message string) {
	v.Warnings = append(v.Warnings, Warning{Code: code, Resources: resources, Message: message})
}

// Merge combines verdicts in order, keeping every reason and warning
// (a warning whose message was seen already is dropped, since the user
// would see it twice).
func Merge(vs ...Verdict) Verdict {
	var out Verdict
	seen := map[string]bool{}
	for _, v := range vs {
		out.Reasons = append(out.Reasons, v.Reasons...)
		for _, w := range v.Warnings {
			if !seen[w.Message] {
				seen[w.Message] = true
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

// WarningMessages are the warnings as the user sees them, in order.
func (v Verdict) WarningMessages() []string {
	if len(v.Warnings) == 0 {
		return nil
	}
	out := make([]string, 0, len(v.Warnings))
	for _, w := range v.Warnings {
		out = append(out, w.Message)
	}
	return out
}
