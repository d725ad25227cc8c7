package policy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
	"github.com/tollgate-dev/tollgate/pkg/podimages"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// CodeError is the code of a policy that could not be evaluated: the
// reason under failureMode closed, the warning under open.
const CodeError = "policy.error"

// result is one element of a policy's deny or warn set.
type result struct {
	msg, code, path string
	deny            bool
}

// Evaluate runs every policy whose action is not off against in, in policy
// name order, and folds the results into one verdict:
//
//   - deny results of a policy with action deny become reasons with code
//     "policy.<name>" (or "policy.<name>.<code>" when the result has a code)
//     and message "[<name>] <msg>";
//   - warn results, and every result of a policy with action warn, become
//     admission warnings "[<name>] <msg>";
//   - results of a policy with action dryrun are only reported to the Observer;
//   - a namespace matching exemptNamespaces skips the policy;
//   - a result whose path falls in one image of the Pod (podimages.At:
//     spec.containers[i]..., spec.initContainers[i]...,
//     spec.ephemeralContainers[i]..., spec.volumes[i].image...) whose
//     reference matches exemptImages is dropped.
//
// A policy that fails to evaluate (builtin error, cancelled context,
// malformed result) follows s.FailureMode: closed adds a reason with code
// policy.error, open adds a warning. Either way the Observer sees
// OutcomeError. The returned error is reserved for malfunctions of the
// caller's input (no Pod) and for a Pod that cannot be converted.
func (e *Engine) Evaluate(ctx context.Context, in Input, s Settings) (verdict.Verdict, error) {
	return e.EvaluateCompiled(ctx, in, e.Compile(s))
}

// EvaluateCompiled is Evaluate with settings compiled once (Engine.Compile);
// nil is the default settings.
func (e *Engine) EvaluateCompiled(ctx context.Context, in Input, s *Compiled) (verdict.Verdict, error) {
	var v verdict.Verdict
	if in.Object == nil {
		return v, errors.New("evaluate policies: input has no object")
	}
	if s == nil {
		s = e.Compile(Settings{})
	}
	var doc *document
	var cancel topdown.Cancel
	nsLabels := namespaceLabels(in)
	for _, p := range e.policies {
		rule, ok := s.rules[p.info.Name]
		if !ok { // compiled for another engine: never guess
			e.fail(&v, s, p.info.Name, 0, errors.New("settings were compiled for other policies"))
			continue
		}
		if rule.action == ActionOff {
			continue
		}
		if rule.err != nil {
			e.fail(&v, s, p.info.Name, 0, rule.err)
			continue
		}
		if rule.exemptNS != nil && rule.exemptNS.Matches(nsLabels) {
			e.observe(Observation{Policy: p.info.Name, Outcome: OutcomeExempt})
			continue
		}
		if rule.evalErr != nil {
			e.fail(&v, s, p.info.Name, 0, rule.evalErr)
			continue
		}
		if doc == nil {
			var err error
			if doc, err = newDocument(in); err != nil {
				return verdict.Verdict{}, fmt.Errorf("evaluate policies: %w", err)
			}
			// One cancellation watcher for all queries, instead of the
			// goroutine rego starts per query.
			cancel = topdown.NewCancel()
			defer context.AfterFunc(ctx, cancel.Cancel)()
		}
		if err := ctx.Err(); err != nil {
			e.fail(&v, s, p.info.Name, 0, err) // the caller gave up: do not admit by default
			continue
		}
		start := e.now()
		results, err := e.evalPolicy(ctx, p, doc, rule.params, cancel)
		took := e.since(start)
		if err != nil {
			e.fail(&v, s, p.info.Name, took, err)
			continue
		}
		if len(rule.exemptImages) > 0 {
			results = e.dropExemptImages(results, in.Object, rule.exemptImages)
		}
		e.apply(&v, p.info.Name, rule.action, results, took)
	}
	return v, nil
}

// evalPolicy runs one prepared query and decodes its results.
func (e *Engine) evalPolicy(ctx context.Context, p *compiledPolicy, doc *document, params *ast.Term, cancel topdown.Cancel) ([]result, error) {
	rs, err := p.query.Eval(ctx, rego.EvalParsedInput(doc.with(params)),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(metrics.NoOp())) // nobody reads OPA's metrics: skip building them per query
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, nil // deny/warn undefined: a complete rule with no value
	}
	var out []result
	for _, set := range []struct {
		name string
		deny bool
	}{{"deny", true}, {"warn", false}} {
		raw, ok := rs[0].Bindings[set.name]
		if !ok {
			continue
		}
		items, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a set or array of results, got %T", set.name, raw)
		}
		for _, item := range items {
			r, err := decodeResult(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", set.name, err)
			}
			r.deny = set.deny
			out = append(out, r)
		}
	}
	return out, nil
}

// decodeResult accepts "message" or {"msg": "...", "code"?: "...", "path"?: "..."}.
func decodeResult(item any) (result, error) {
	switch x := item.(type) {
	case string:
		return result{msg: x}, nil
	case map[string]any:
		var r result
		var ok bool
		if r.msg, ok = x["msg"].(string); !ok || r.msg == "" {
			return r, fmt.Errorf("result %v has no string msg", item)
		}
		if c, present := x["code"]; present {
			if r.code, ok = c.(string); !ok || !validCode(r.code) {
				return r, fmt.Errorf("result code %v must be lowercase letters, digits, '-' and '.'", c)
			}
		}
		if pth, present := x["path"]; present {
			if r.path, ok = pth.(string); !ok {
				return r, fmt.Errorf("result path %v must be a string", pth)
			}
		}
		return r, nil
	}
	return result{}, fmt.Errorf("result %v must be a string or an object with msg", item)
}

func validCode(c string) bool {
	if c == "" || c[0] == '.' || c[len(c)-1] == '.' {
		return false
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' && b != '.' {
			return false
		}
	}
	return true
}

// apply adds one policy's results to the verdict according to its action.
// A result's code is "policy.<name>", plus ".<code>" when the policy gave
// one, whether it denies or warns.
func (e *Engine) apply(v *verdict.Verdict, name, action string, results []result, took time.Duration) {
	obs := Observation{Policy: name, Duration: took, Outcome: OutcomeAllow}
	for _, r := range results {
		msg := "[" + name + "] " + r.msg
		obs.Messages = append(obs.Messages, msg)
		code := "policy." + name
		if r.code != "" {
			code += "." + r.code
		}
		switch {
		case action == ActionDryRun:
			obs.Outcome = OutcomeDryRun
		case r.deny && action == ActionDeny:
			v.Deny(code, r.path, msg)
			obs.Outcome = OutcomeDeny
		default:
			v.Warn(code, nil, msg)
			if obs.Outcome == OutcomeAllow {
				obs.Outcome = OutcomeWarn
			}
		}
	}
	e.observe(obs)
}

// fail applies the failure mode to a policy that could not be evaluated.
func (e *Engine) fail(v *verdict.Verdict, s *Compiled, name string, took time.Duration, err error) {
	if s.failureMode == FailureOpen {
		v.Warn(CodeError, nil, fmt.Sprintf("[%s] policy could not be evaluated and was skipped (failureMode open): %v", name, err))
	} else {
		v.Deny(CodeError, "", fmt.Sprintf("[%s] policy could not be evaluated (failureMode closed): %v", name, err))
	}
	e.observe(Observation{Policy: name, Duration: took, Outcome: OutcomeError, Messages: []string{err.Error()}, Err: err})
}

func (e *Engine) observe(o Observation) {
	if e.Observer != nil {
		e.Observer(o)
	}
}

// now and since measure only when someone observes.
func (e *Engine) now() time.Time {
	if e.Observer == nil {
		return time.Time{}
	}
	return time.Now()
}

func (e *Engine) since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return time.Since(t)
}

// namespaceLabels are the labels exemptNamespaces selects on. Without a
// Namespace object, the label the API server sets on every namespace,
// kubernetes.io/metadata.name, is still known from the request.
func namespaceLabels(in Input) labels.Set {
	if in.Namespace != nil {
		return in.Namespace.Labels
	}
	if in.Request.Namespace != "" {
		return labels.Set{corev1.LabelMetadataName: in.Request.Namespace}
	}
	return nil
}

// dropExemptImages removes results about images of the Pod that match one
// of the patterns.
func (e *Engine) dropExemptImages(results []result, pod *corev1.Pod, compiled []imageref.Pattern) []result {
	out := results[:0]
	for _, r := range results {
		if img, ok := podimages.At(&pod.Spec, r.path); ok {
			if r := e.images.parse(img.Reference); r.err == nil && imageref.MatchAny(r.ref, compiled) {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
