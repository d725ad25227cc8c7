package policy

import (
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

// The declarations leave OPA's per-query memoization off: it formats every
// argument into a string key on each call, and images already caches the
// work for the life of the Engine.
var (
	imageParseDecl = &rego.Function{
		Name:        "tollgate.image.parse",
		Description: "Parses and normalises an image reference; invalid references give valid=false and error.",
		Decl:        types.NewFunction(types.Args(types.Named("ref", types.S)), types.Named("result", imageRefType)),
	}
	imageMatchesDecl = &rego.Function{
		Name:        "tollgate.image.matches",
		Description: "Reports whether an image reference matches a segment pattern (\"*\" is one whole segment).",
		Decl:        types.NewFunction(types.Args(types.Named("ref", types.S), types.Named("pattern", types.S)), types.Named("result", types.B)),
	}
	imagePatternErrorDecl = &rego.Function{
		Name:        "tollgate.image.pattern_error",
		Description: "Returns why an image pattern is invalid, or \"\" when it is valid.",
		Decl:        types.NewFunction(types.Args(types.Named("pattern", types.S)), types.Named("result", types.S)),
	}
)

// images remembers parsed image references and compiled patterns for the
// life of an Engine: the same few images and configured patterns come back
// in request after request. Results are immutable once built (terms
// included), so they are shared between concurrent queries.
type images struct {
	refs     boundedCache[parsedRef]
	patterns boundedCache[compiledPattern]
}

// maxCachedImages bounds each of images' caches (two generations of this
// many entries), so a flood of unique images cannot grow memory.
const maxCachedImages = 2048

func newImages() *images {
	return &images{refs: newBoundedCache[parsedRef](maxCachedImages), patterns: newBoundedCache[compiledPattern](maxCachedImages)}
}

// parsedRef is the outcome of parsing one reference, and the
// tollgate.image.parse result built from it.
type parsedRef struct {
	ref  imageref.Ref
	err  error
	term *ast.Term
}

type compiledPattern struct {
	p   imageref.Pattern
	err error
}

func (c *images) parse(s string) parsedRef {
	if r, ok := c.refs.get(s); ok {
		return r
	}
	ref, err := imageref.Parse(s)
	r := parsedRef{ref: ref, err: err, term: parseTerm(s, ref, err)}
	c.refs.put(s, r)
	return r
}

func (c *images) pattern(s string) (imageref.Pattern, error) {
	if r, ok := c.patterns.get(s); ok {
		return r.p, r.err
	}
	p, err := imageref.CompilePattern(s)
	c.patterns.put(s, compiledPattern{p, err})
	return p, err
}

func (c *images) imageParse(_ rego.BuiltinContext, ref *ast.Term) (*ast.Term, error) {
	s, err := builtinString(ref, 1)
	if err != nil {
		return nil, err
	}
	return c.parse(s).term, nil
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
		ast.Item(ast.StringTerm("valid"), ast.InternedTerm(err == nil)),
		ast.Item(ast.StringTerm("error"), ast.StringTerm(reason)),
		ast.Item(ast.StringTerm("original"), ast.StringTerm(s)),
		ast.Item(ast.StringTerm("registry"), ast.StringTerm(r.Registry)),
		ast.Item(ast.StringTerm("repository"), ast.StringTerm(r.Repository)),
		ast.Item(ast.StringTerm("path"), ast.StringTerm(r.Path)),
		ast.Item(ast.StringTerm("tag"), ast.StringTerm(r.Tag)),
		ast.Item(ast.StringTerm("tagImplicit"), ast.InternedTerm(r.TagImplicit)),
		ast.Item(ast.StringTerm("digest"), ast.StringTerm(r.Digest)),
		ast.Item(ast.StringTerm("pinned"), ast.InternedTerm(r.Pinned())),
		ast.Item(ast.StringTerm("normalized"), ast.StringTerm(r.Normalized)),
	)
}

func (c *images) imageMatches(_ rego.BuiltinContext, ref, pattern *ast.Term) (*ast.Term, error) {
	r, err := builtinString(ref, 1)
	if err != nil {
		return nil, err
	}
	ps, err := builtinString(pattern, 2)
	if err != nil {
		return nil, err
	}
	p, err := c.pattern(ps)
	if err != nil {
		return nil, err
	}
	parsed := c.parse(r)
	if parsed.err != nil {
		return ast.InternedTerm(false), nil // an invalid reference matches nothing
	}
	return ast.InternedTerm(p.Match(parsed.ref)), nil
}

func (c *images) imagePatternError(_ rego.BuiltinContext, pattern *ast.Term) (*ast.Term, error) {
	p, err := builtinString(pattern, 1)
	if err != nil {
		return nil, err
	}
	if _, err := c.pattern(p); err != nil {
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
func (c *images) regoFunctions() []func(*rego.Rego) {
	return []func(*rego.Rego){
		rego.Function1(imageParseDecl, c.imageParse),
		rego.Function2(imageMatchesDecl, c.imageMatches),
		rego.Function1(imagePatternErrorDecl, c.imagePatternError),
	}
}

func astBuiltin(f *rego.Function) *ast.Builtin {
	return &ast.Builtin{Name: f.Name, Description: f.Description, Decl: f.Decl}
}

// TesterBuiltins returns Tollgate's builtins in the form OPA's test runner
// takes, so `_test.rego` files see the same functions as the webhook.
func TesterBuiltins() []*tester.Builtin {
	c := newImages()
	return []*tester.Builtin{
		{Decl: astBuiltin(imageParseDecl), Func: rego.Function1(imageParseDecl, c.imageParse)},
		{Decl: astBuiltin(imageMatchesDecl), Func: rego.Function2(imageMatchesDecl, c.imageMatches)},
		{Decl: astBuiltin(imagePatternErrorDecl), Func: rego.Function1(imagePatternErrorDecl, c.imagePatternError)},
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
