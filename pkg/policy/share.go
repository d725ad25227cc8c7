package policy

import (
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Every policy of a request runs as its own query against the same input
// except input.parameters, so a rule that cannot see the parameters (such
// as data.tollgate.lib.pod.containers) has the same value in each of them.
// sharedRules finds those rules once per Engine, and a sharedCache hands
// their values from one policy's query to the next, so helpers shared by
// many policies are evaluated once per request instead of once per policy.

// shareNode is one segment of a rule path (data.tollgate.lib.pod...).
type shareNode struct {
	children map[string]*shareNode
	// own: a rule with exactly this path may depend on the policy being
	// evaluated, so every ref at or below this path does too.
	own bool
	// below: own here or at some path below.
	below bool
}

// sharedRules knows which rule values are the same for every policy of a
// request. It is immutable after newSharedRules.
type sharedRules struct {
	root shareNode // the "data" node
}

// ruleDeps is what one rule reads, as far as sharing is concerned.
type ruleDeps struct {
	path []string // ground path of the rule below data
	// perPolicy: reads input.parameters (or input as a whole, or a key of
	// input only known at run time), or calls a nondeterministic builtin,
	// whose value may differ from one query to the next.
	perPolicy bool
	data      []ast.Ref // data refs it reads or calls, ground prefixes
}

// newSharedRules analyses the compiled modules. A rule is per-policy when it
// reads input.parameters directly or through any rule it refers to; such
// rules are never shared, nor is anything that may contain them.
func newSharedRules(compiler *ast.Compiler) *sharedRules {
	var rules []*ruleDeps
	for _, mod := range compiler.Modules {
		for _, r := range mod.Rules {
			rules = append(rules, depsOf(r))
		}
	}
	s := &sharedRules{}
	for _, r := range rules {
		s.node(r.path) // every rule path exists, so lookups stop at rules
	}
	pending := rules[:0:0]
	for _, r := range rules {
		if r.perPolicy {
			s.mark(r.path)
		} else {
			pending = append(pending, r)
		}
	}
	// Propagate until no rule changes: a rule reading a per-policy rule is
	// per-policy itself.
	for changed := true; changed; {
		changed = false
		rest := pending[:0]
		for _, r := range pending {
			if s.readsPerPolicy(r) {
				s.mark(r.path)
				changed = true
			} else {
				rest = append(rest, r)
			}
		}
		pending = rest
	}
	return s
}

func (s *sharedRules) readsPerPolicy(r *ruleDeps) bool {
	for _, ref := range r.data {
		if !s.shared(ref) {
			return true
		}
	}
	return false
}

// depsOf collects the refs of a rule, its else branches included.
func depsOf(r *ast.Rule) *ruleDeps {
	d := &ruleDeps{path: groundPath(r.Path())}
	safe := safeInputTerms(r)
	ast.WalkTerms(r, func(t *ast.Term) bool {
		ref, ok := t.Value.(ast.Ref)
		if !ok {
			return false
		}
		switch {
		case ref.HasPrefix(ast.InputRootRef):
			if !safe[t] && !fixedInputKey(ref[1:]) {
				d.perPolicy = true
			}
		case ref.HasPrefix(ast.DefaultRootRef):
			d.data = append(d.data, ref.GroundPrefix())
		}
		return false // nested refs (data.x[input.y]) are visited too
	})
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if !e.IsCall() {
			return false
		}
		if b, ok := ast.BuiltinMap[e.Operator().String()]; ok && b.Nondeterministic {
			d.perPolicy = true
		}
		return false
	})
	return d
}

// fixedInputKey reports whether the rest of an input ref (input.object...,
// or object.get's path) starts with a key known at compile time that is
// not "parameters".
func fixedInputKey(rest []*ast.Term) bool {
	if len(rest) == 0 {
		return false
	}
	k, ok := rest[0].Value.(ast.String)
	return ok && k != "parameters"
}

// safeInputTerms finds the whole-input terms a rule only passes to
// object.get with a fixed key, as in the compiled form of
// object.get(input, ["oldObject", "spec", kind], []):
//
//	__local1__ = input; object.get(__local1__, ["oldObject", "spec", kind], [], __local2__)
//
// Such a rule reads input.oldObject, not input.parameters.
func safeInputTerms(r *ast.Rule) map[*ast.Term]bool {
	aliases := map[ast.Var]*ast.Term{} // var -> the input term bound to it
	uses := map[ast.Var]int{}          // safe uses of each alias
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if e.IsEquality() && !e.Negated && len(e.With) == 0 {
			a, b := e.Operand(0), e.Operand(1)
			if isInput(a) {
				a, b = b, a
			}
			if v, ok := a.Value.(ast.Var); ok && isInput(b) {
				aliases[v] = b
			}
		}
		return false
	})
	if len(aliases) == 0 {
		return nil
	}
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if !e.IsCall() || e.Operator().String() != "object.get" || len(e.Operands()) < 3 {
			return false
		}
		v, ok := e.Operand(0).Value.(ast.Var)
		if !ok {
			return false
		}
		switch key := e.Operand(1).Value.(type) {
		case ast.String:
			if fixedInputKey([]*ast.Term{e.Operand(1)}) {
				uses[v]++
			}
		case *ast.Array:
			if key.Len() > 0 && fixedInputKey([]*ast.Term{key.Elem(0)}) {
				uses[v]++
			}
		}
		return false
	})
	// Every other occurrence of an alias could pass input on: count them all.
	seen := map[ast.Var]int{}
	ast.WalkVars(r, func(v ast.Var) bool {
		if _, ok := aliases[v]; ok {
			seen[v]++
		}
		return false
	})
	safe := map[*ast.Term]bool{}
	for v, in := range aliases {
		if seen[v] == 1+uses[v] { // the binding plus the safe uses
			safe[in] = true
		}
	}
	return safe
}

func isInput(t *ast.Term) bool {
	ref, ok := t.Value.(ast.Ref)
	return ok && len(ref) == 1 && ref.HasPrefix(ast.InputRootRef)
}

// groundPath is the string segments of a data ref after "data", up to the
// first segment that is not a string (a shorter path is the safe side).
func groundPath(ref ast.Ref) []string {
	var out []string
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		out = append(out, string(s))
	}
	return out
}

func (s *sharedRules) node(path []string) *shareNode {
	n := &s.root
	for _, seg := range path {
		next := n.children[seg]
		if next == nil {
			if n.children == nil {
				n.children = map[string]*shareNode{}
			}
			next = &shareNode{}
			n.children[seg] = next
		}
		n = next
	}
	return n
}

func (s *sharedRules) mark(path []string) {
	n := &s.root
	n.below = true
	for _, seg := range path {
		n = n.children[seg]
		n.below = true
	}
	n.own = true
}

// shared reports whether the value of ref (a rule, part of one, or a
// function call: the virtual cache's keys) is the same in every policy's
// query of a request. Anything not under data is not.
func (s *sharedRules) shared(ref ast.Ref) bool {
	if len(ref) == 0 || !ref[0].Equal(ast.DefaultRootDocument) {
		return false
	}
	n := &s.root
	for _, t := range ref[1:] {
		if n.own {
			return false
		}
		seg, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		next := n.children[string(seg)]
		if next == nil {
			break
		}
		n = next
	}
	return !n.below
}

// sharedCache is a topdown.VirtualCache for the queries of one Evaluate
// call: values of shared rules outlive a query, everything else is dropped
// when the next query starts. Queries of one request run one after another,
// so it needs no lock.
type sharedCache struct {
	rules  *sharedRules
	shared topdown.VirtualCache // survives from query to query
	query  topdown.VirtualCache // this query's per-policy values
	// depth counts `with` frames: under `with`, input or data may be
	// replaced, so nothing is read from or written to the shared frame.
	depth int
}

func newSharedCache(rules *sharedRules) *sharedCache {
	return &sharedCache{rules: rules, shared: topdown.NewVirtualCache()}
}

// next prepares the cache for the next query. After a failed query the
// shared values are dropped as well: OPA caches a value before it has
// checked the rule for conflicting values, and a later policy must see the
// same error rather than the first value.
func (c *sharedCache) next(failed bool) {
	if failed {
		c.shared = topdown.NewVirtualCache()
	}
	c.query = topdown.NewVirtualCache()
	c.depth = 0
}

func (c *sharedCache) frame(ref ast.Ref) topdown.VirtualCache {
	if c.depth == 0 && c.rules.shared(ref) {
		return c.shared
	}
	return c.query
}

// Push implements topdown.VirtualCache.
func (c *sharedCache) Push() {
	c.depth++
	c.query.Push()
}

// Pop implements topdown.VirtualCache.
func (c *sharedCache) Pop() {
	c.depth--
	c.query.Pop()
}

// Get implements topdown.VirtualCache.
func (c *sharedCache) Get(ref ast.Ref) (*ast.Term, bool) { return c.frame(ref).Get(ref) }

// Put implements topdown.VirtualCache.
func (c *sharedCache) Put(ref ast.Ref, value *ast.Term) { c.frame(ref).Put(ref, value) }

// Keys implements topdown.VirtualCache.
func (c *sharedCache) Keys() []ast.Ref {
	if c.depth > 0 {
		return c.query.Keys()
	}
	return append(c.shared.Keys(), c.query.Keys()...)
}
