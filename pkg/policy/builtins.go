package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

// Tollgate's own builtins, available to every policy and test:
//
//	tollgate.image.parse(ref)            -> object (see imageRefType)
//	tollgate.image.matches(ref, pattern) -> bool
//	tollgate.image.pattern_error(pattern) -> string ("" when the pattern is valid)
//
// tollgate.image.parse never fails: an invalid reference yields
// {"valid": false, "error": "...", other fields ""/false} so a policy can
// report the image as a violation instead of turning a bad Pod into an
// evaluation error. Every key is always present (error is "" when valid),
// and the result type is declared, so a typo such as ref.tagg is a compile
// error.
// tollgate.image.matches fails (an evaluation error, handled by
// failureMode) when the pattern is invalid, because that is a
// configuration bug; an invalid reference matches nothing.

var imageRefType = types.NewObject([]*types.StaticProperty{
	types.NewStaticProperty("valid", types.B),
	types.NewStaticProperty("error", types.S),
	types.NewStaticProperty("original", types.S),
	types.NewStaticProperty("registry", types.S),
	types.NewStaticProperty("repository", types.S),
	types.NewStaticProperty("path", types.S),
	types.NewStaticProperty("tag", types.S),
	types.NewStaticProperty("tagImplicit", types.B),
	types.NewStaticProperty("digest", types.S),
	types.NewStaticProperty("pinned", types.B),
	types.NewStaticProperty("normalized", types.S),
}, nil)

var (
	imageParseDecl = &rego.Function{
		Name:        "tollgate.image.parse",
		Description: "Parses and normalises an image reference; invalid references give valid=false and error.",
		Decl:        types.NewFunction(types.Args(types.Named("ref", types.S)), types.Named("result", imageRefType)),
		Memoize:     true,
	}
	imageMatchesDecl = &rego.Function{
		Name:        "tollgate.image.matches",
		Description: "Reports whether an image reference matches a segment pattern (\"*\" is one whole segment).",
		Decl:        types.NewFunction(types.Args(types.Named("ref", types.S), types.Named("pattern", types.S)), types.Named("result", types.B)),
		Memoize:     true,
	}
	imagePatternErrorDecl = &rego.Function{
		Name:        "tollgate.image.pattern_error",
		Description: "Returns why an image pattern is invalid, or \"\" when it is valid.",
		Decl:        types.NewFunction(types.Args(types.Named("pattern", types.S)), types.Named("result", types.S)),
		Memoize:     true,
	}
)

// requestCache remembers image parsing work for one Evaluate call, so the
// policies of one request parse each image and pattern once (OPA memoizes
// only within a single query). Policies run one after another: no lock.
type requestCache struct {
	terms    map[string]*ast.Term // tollgate.image.parse results
	refs     map[string]refResult
	patterns map[string]patternResult
}

type refResult struct {
	ref imageref.Ref
	err error
}

type patternResult struct {
	p   imageref.Pattern
	err error
}

type requestCacheKey struct{}

func withRequestCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, requestCacheKey{}, &requestCache{
		terms:    map[string]*ast.Term{},
		refs:     map[string]refResult{},
		patterns: map[string]patternResult{},
	})
}

// cacheOf returns the request's cache, or a throwaway one outside Evaluate
// (Rego unit tests).
func cacheOf(bctx rego.BuiltinContext) *requestCache {
	if bctx.Context != nil {
		if c, ok := bctx.Context.Value(requestCacheKey{}).(*requestCache); ok {
			return c
		}
	}
	return &requestCache{terms: map[string]*ast.Term{}, refs: map[string]refResult{}, patterns: map[string]patternResult{}}
}

func (c *requestCache) parse(s string) (imageref.Ref, error) {
	if r, ok := c.refs[s]; ok {
		return r.ref, r.err
	}
	ref, err := imageref.Parse(s)
	c.refs[s] = refResult{ref, err}
	return ref, err
}

func (c *requestCache) pattern(s string) (imageref.Pattern, error) {
	if r, ok := c.patterns[s]; ok {
		return r.p, r.err
	}
	p, err := imageref.CompilePattern(s)
	c.patterns[s] = patternResult{p, err}
	return p, err
}

func imageParse(bctx rego.BuiltinContext, ref *ast.Term) (*ast.Term, error) {
	s, err := builtinString(ref, 1)
	if err != nil {
		return nil, err
	}
	cache := cacheOf(bctx)
	if t, ok := cache.terms[s]; ok {
		return t, nil
	}
	r, perr := cache.parse(s)
	t := parseTerm(s, r, perr)
	cache.terms[s] = t
	return t, nil
}

func parseTerm(s string, r imageref.Ref, err error) *ast.Term {
	reason := ""
	if err != nil {
		r = imageref.Ref{Original: s}
		reason = err.Error()
		if pe, ok := err.(*imageref.ParseError); ok {
			reason = pe.Reason
		}
	}
	// Every key is always present, so policies and tests see one shape.
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("valid"), ast.BooleanTerm(err == nil)),
		ast.Item(ast.StringTerm("error"), ast.StringTerm(reason)),
		ast.Item(ast.StringTerm("original"), ast.StringTerm(s)),
		ast.Item(ast.StringTerm("registry"), ast.StringTerm(r.Registry)),
		ast.Item(ast.StringTerm("repository"), ast.StringTerm(r.Repository)),
		ast.Item(ast.StringTerm("path"), ast.StringTerm(r.Path)),
		ast.Item(ast.StringTerm("tag"), ast.StringTerm(r.Tag)),
		ast.Item(ast.StringTerm("tagImplicit"), ast.BooleanTerm(r.TagImplicit)),
		ast.Item(ast.StringTerm("digest"), ast.StringTerm(r.Digest)),
		ast.Item(ast.StringTerm("pinned"), ast.BooleanTerm(r.Pinned())),
		ast.Item(ast.StringTerm("normalized"), ast.StringTerm(r.Normalized)),
	)
}

func imageMatches(bctx rego.BuiltinContext, ref, pattern *ast.Term) (*ast.Term, error) {
	r, err := builtinString(ref, 1)
	if err != nil {
		return nil, err
	}
	ps, err := builtinString(pattern, 2)
	if err != nil {
		return nil, err
	}
	cache := cacheOf(bctx)
	p, err := cache.pattern(ps)
	if err != nil {
		return nil, err
	}
	parsed, err := cache.parse(r)
	if err != nil {
		return ast.BooleanTerm(false), nil // an invalid reference matches nothing
	}
	return ast.BooleanTerm(p.Match(parsed)), nil
}

func imagePatternError(_ rego.BuiltinContext, pattern *ast.Term) (*ast.Term, error) {
	p, err := builtinString(pattern, 1)
	if err != nil {
		return nil, err
	}
	if _, err := imageref.CompilePattern(p); err != nil {
		return ast.StringTerm(err.Error()), nil
	}
	return ast.StringTerm(""), nil
}

func builtinString(t *ast.Term, pos int) (string, error) {
	s, ok := t.Value.(ast.String)
	if !ok {
		return "", fmt.Errorf("operand %d must be string but got %s", pos, ast.ValueName(t.Value))
	}
	return string(s), nil
}

// regoFunctions registers the implementations of Tollgate's builtins.
func regoFunctions() []func(*rego.Rego) {
	return []func(*rego.Rego){
		rego.Function1(imageParseDecl, imageParse),
		rego.Function2(imageMatchesDecl, imageMatches),
		rego.Function1(imagePatternErrorDecl, imagePatternError),
	}
}

func astBuiltin(f *rego.Function) *ast.Builtin {
	return &ast.Builtin{Name: f.Name, Description: f.Description, Decl: f.Decl}
}

// TesterBuiltins returns Tollgate's builtins in the form OPA's test runner
// takes, so `_test.rego` files see the same functions as the webhook.
func TesterBuiltins() []*tester.Builtin {
	return []*tester.Builtin{
		{Decl: astBuiltin(imageParseDecl), Func: rego.Function1(imageParseDecl, imageParse)},
		{Decl: astBuiltin(imageMatchesDecl), Func: rego.Function2(imageMatchesDecl, imageMatches)},
		{Decl: astBuiltin(imagePatternErrorDecl), Func: rego.Function1(imagePatternErrorDecl, imagePatternError)},
	}
}

// removedBuiltins are left out of the capabilities: policies decide from the
// request alone, so nothing may reach the network (http.send,
// net.lookup_ip_addr) or read the process environment and config
// (opa.runtime). Using one is a compile error naming the file and line.
var removedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime"}

// Capabilities returns the OPA capabilities policies are compiled against:
// this OPA version's builtins minus removedBuiltins, plus Tollgate's own.
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(removedBuiltins, b.Name)
	})
	caps.Builtins = append(caps.Builtins, astBuiltin(imageParseDecl), astBuiltin(imageMatchesDecl), astBuiltin(imagePatternErrorDecl))
	return caps
}

// NewCompiler returns an unconfigured-module compiler with Tollgate's
// capabilities, for the engine and for `tollgate test`.
func NewCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithDefaultRegoVersion(ast.RegoV1).
		WithEnablePrintStatements(false)
}
