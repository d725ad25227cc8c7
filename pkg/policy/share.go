package policy

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Rule values shared by the policies of one request.
//
// Each policy is its own query, and each would compute the helper rules of
// tollgate.lib (the Pod's list of images, say) again. The queries of one
// request differ only in input.parameters, so a helper rule that never
// reads the parameters has the same value in all of them: they share one
// OPA virtual-document cache (rego.EvalVirtualCache, a public API), and
// the helpers are computed once per request.
//
// That is sound only while the modules keep to what sharing assumes, which
// shareable checks when the policies are compiled; otherwise every query
// keeps its own cache:
//   - a helper package (tollgate.lib...) reads input only through one of
//     sharedInput (never input whole, never input.parameters) and reads no
//     policy package;
//   - a policy package reads no other policy package.
//
// After a query fails, the next one starts with a new cache, so a rule
// that failed half way (a conflict) is never read back as a value.

// sharedInput are the parts of input that are the same for every policy
// of a request.
var sharedInput = map[string]bool{"object": true, "oldObject": true, "request": true, "namespace": true, "images": true}

// shareable reports whether the queries of one request may share rule
// values, or why not.
func shareable(modules map[string]*ast.Module) error {
	for _, file := range sortedKeys(modules) {
		mod := modules[file]
		pkg := mod.Package.Path.String() // data.tollgate.x
		var bad error
		ast.WalkRefs(mod, func(r ast.Ref) bool {
			if bad == nil {
				bad = checkRef(r, pkg)
			}
			return bad != nil
		})
		if bad != nil {
			return fmt.Errorf("%s: %w", file, bad)
		}
	}
	return nil
}

// owner is the policy package a package belongs to (data.tollgate.x for
// data.tollgate.x and anything below it), or "" for a helper package any
// policy may read: tollgate.lib and everything outside data.tollgate.
func owner(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "data.tollgate.")
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, ".")
	if first == "lib" {
		return ""
	}
	return "data.tollgate." + first
}

// checkRef checks one reference of a module of package pkg.
func checkRef(r ast.Ref, pkg string) error {
	own := owner(pkg)
	switch {
	case r.HasPrefix(ast.InputRootRef):
		if own == "" && (len(r) < 2 || !sharedInput[termString(r[1])]) {
			return fmt.Errorf("helper package reads %v, not one of input.object, oldObject, request, namespace or images", r)
		}
	case r.HasPrefix(ast.DefaultRootRef):
		if len(r) < 3 && !(len(r) == 2 && termString(r[1]) != "" && termString(r[1]) != "tollgate") {
			return fmt.Errorf("reads %v whole, every policy's rules included", r)
		}
		target := ""
		if termString(r[1]) == "tollgate" {
			if termString(r[2]) == "" {
				return fmt.Errorf("reads %v, a policy chosen at evaluation", r)
			}
			target = owner("data.tollgate." + termString(r[2]))
		}
		if target != "" && target != own {
			return fmt.Errorf("reads another policy's rules (%v)", r)
		}
	}
	return nil
}

func termString(t *ast.Term) string {
	if s, ok := t.Value.(ast.String); ok {
		return string(s)
	}
	return "" // a variable: not a fixed name, never shared
}

// NotShared says why the policies of a request each compute the helper
// rules on their own (slower, never wrong); nil when they share them.
func (e *Engine) NotShared() error { return e.notShared }
