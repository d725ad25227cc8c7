package policy

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Compiled is Settings converted once for an engine, when a config is
// loaded, so requests do not convert parameters, selectors and patterns
// again: build it with Engine.Compile and pass it to EvaluateCompiled.
type Compiled struct {
	failureMode string
	rules       map[string]compiledRule // by policy name, every loaded policy
}

// compiledRule is one policy's Rule in the form evaluation uses. A setting
// that cannot be used (Validate refuses it when a config loads) is kept as
// an error that evaluation reports as that policy's failure, in the order
// it always has: err (action, exemptNamespaces) before the namespace
// exemption, evalErr (parameters, exemptImages) after it.
type compiledRule struct {
	action       string // resolved: the policy's default when unset
	params       *ast.Term
	exemptNS     labels.Selector // nil: no namespace is exempt
	exemptImages []imageref.Pattern
	err, evalErr error
}

// Compile converts s for the loaded policies. It never fails: a setting
// that cannot be used makes its policy fail when evaluated (see Evaluate).
func (e *Engine) Compile(s Settings) *Compiled {
	c := &Compiled{failureMode: s.FailureMode, rules: make(map[string]compiledRule, len(e.policies))}
	for _, p := range e.policies {
		c.rules[p.info.Name] = e.compileRule(s.Rules[p.info.Name], p.info)
	}
	return c
}

func (e *Engine) compileRule(r Rule, info PolicyInfo) compiledRule {
	out := compiledRule{action: r.Action, params: ast.NewTerm(ast.NewObject())}
	switch {
	case out.action == "" && info.NeedsParameters && len(r.Parameters) == 0:
		out.action = ActionOff // nothing to check: not even a query
	case out.action == "":
		out.action = info.DefaultAction
	}
	if !validAction(out.action) {
		out.err = fmt.Errorf("unknown action %q", out.action)
		return out
	}
	if r.ExemptNamespaces != nil {
		sel, err := metav1.LabelSelectorAsSelector(r.ExemptNamespaces)
		if err != nil {
			out.err = fmt.Errorf("exemptNamespaces: %w", err)
			return out
		}
		if !sel.Empty() {
			out.exemptNS = sel
		}
	}
	if len(r.Parameters) > 0 {
		val, err := ast.InterfaceToValue(r.Parameters)
		if err != nil {
			out.evalErr = fmt.Errorf("parameters: %w", err)
			return out
		}
		out.params = ast.NewTerm(val)
	}
	for _, p := range r.ExemptImages {
		c, err := e.images.pattern(p)
		if err != nil {
			out.evalErr = fmt.Errorf("exemptImages: %w", err)
			return out
		}
		out.exemptImages = append(out.exemptImages, c)
	}
	return out
}
