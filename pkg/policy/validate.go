package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Validate checks settings against the loaded policies: every named policy
// exists, actions and the failure mode are known, selectors and image
// patterns parse, and parameters satisfy the policy's metadata.parameters
// JSON schema and its optional parameter_errors rule. All problems are
// returned together, each naming policies.settings.<name>.<field>.
func (e *Engine) Validate(s Settings) error {
	ctx := context.Background()
	var errs []error
	switch s.FailureMode {
	case "", FailureClosed, FailureOpen:
	default:
		errs = append(errs, fmt.Errorf("policies.failureMode: %q is not one of closed, open", s.FailureMode))
	}
	for _, name := range sortedKeys(s.Rules) {
		r := s.Rules[name]
		where := "policies.settings." + name
		p, ok := e.byName[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: unknown policy %q (loaded: %s)", where, name, strings.Join(e.Policies(), ", ")))
			continue
		}
		if !validAction(r.Action) {
			errs = append(errs, fmt.Errorf("%s.action: %q is not one of deny, warn, dryrun, off", where, r.Action))
		}
		if r.ExemptNamespaces != nil {
			if _, err := metav1.LabelSelectorAsSelector(r.ExemptNamespaces); err != nil {
				errs = append(errs, fmt.Errorf("%s.exemptNamespaces: %w", where, err))
			}
		}
		for i, pat := range r.ExemptImages {
			if _, err := imageref.CompilePattern(pat); err != nil {
				errs = append(errs, fmt.Errorf("%s.exemptImages[%d]: %w", where, i, err))
			}
		}
		errs = append(errs, e.validateParameters(ctx, p, where+".parameters", r.Parameters)...)
	}
	errs = append(errs, e.validateOverrides(s)...)
	return errors.Join(errs...)
}

func (e *Engine) validateParameters(ctx context.Context, p *compiledPolicy, where string, params map[string]any) []error {
	if params == nil {
		params = map[string]any{}
	}
	val, err := ast.InterfaceToValue(params)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", where, err)}
	}
	if p.schema != nil {
		problems, err := e.matchSchema(ctx, val, p.schema)
		if err != nil {
			return []error{fmt.Errorf("%s: check schema: %w", where, err)}
		}
		if len(problems) > 0 {
			out := make([]error, len(problems))
			for i, pr := range problems {
				out[i] = fmt.Errorf("%s: %s", where, pr)
			}
			return out // parameter_errors may assume the schema holds
		}
	}
	if p.paramErrs == nil {
		return nil
	}
	input := ast.NewObject([2]*ast.Term{keyParameters, ast.NewTerm(val)})
	rs, err := p.paramErrs.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return []error{fmt.Errorf("%s: evaluate parameter_errors: %w", where, err)}
	}
	var msgs []string
	if len(rs) > 0 {
		set, _ := rs[0].Bindings["errs"].([]any)
		for _, m := range set {
			msgs = append(msgs, fmt.Sprint(m))
		}
	}
	sort.Strings(msgs)
	out := make([]error, len(msgs))
	for i, m := range msgs {
		out[i] = fmt.Errorf("%s: %s", where, m)
	}
	return out
}

// matchSchema checks doc against a JSON schema and returns the problems
// found; an error means the schema itself is unusable.
func (e *Engine) matchSchema(ctx context.Context, doc any, schema *ast.Term) ([]string, error) {
	var docTerm *ast.Term
	switch d := doc.(type) {
	case ast.Value:
		docTerm = ast.NewTerm(d)
	default:
		v, err := ast.InterfaceToValue(d)
		if err != nil {
			return nil, err
		}
		docTerm = ast.NewTerm(v)
	}
	input := ast.NewObject(
		[2]*ast.Term{ast.StringTerm("document"), docTerm},
		[2]*ast.Term{ast.StringTerm("schema"), schema},
	)
	rs, err := e.schemaQ.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errors.New("schema check gave no result")
	}
	pair, ok := rs[0].Bindings["r"].([]any)
	if !ok || len(pair) != 2 {
		return nil, errors.New("schema check gave an unexpected result")
	}
	if okv, _ := pair[0].(bool); okv {
		return nil, nil
	}
	list, _ := pair[1].([]any)
	var out []string
	for _, item := range list {
		m, _ := item.(map[string]any)
		field, _ := m["field"].(string)
		desc, _ := m["desc"].(string)
		if field == "" || strings.EqualFold(field, "(root)") {
			out = append(out, desc)
		} else {
			out = append(out, field+": "+desc)
		}
	}
	sort.Strings(out)
	return out, nil
}
