package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Engine holds compiled policies and their prepared queries. It is
// immutable after New and safe for concurrent use; to reload, build a new
// Engine and swap it in.
type Engine struct {
	// Observer, when set, receives one Observation per evaluated policy
	// (timings, outcome, dry-run results). Set it before sharing the Engine.
	Observer Observer

	policies []*compiledPolicy // sorted by name
	byName   map[string]*compiledPolicy
	schemaQ  rego.PreparedEvalQuery // json.match_schema, for Validate
	images   *images                // tollgate.image.* work, kept across requests
	replaced []Replacement          // packages a later source replaced
	// notShared says why the queries of a request cannot share rule
	// values (share.go); nil: they share them.
	notShared error
}

// compiledPolicy is one policy package and its prepared query.
type compiledPolicy struct {
	info      PolicyInfo
	pkg       string // e.g. "tollgate.allowed_registries"
	hasDeny   bool
	hasWarn   bool
	query     rego.PreparedEvalQuery
	schema    *ast.Term // JSON schema of parameters, or nil
	paramErrs *rego.PreparedEvalQuery
}

// PolicyInfo describes a loaded policy.
type PolicyInfo struct {
	// Name is the policy name used in config and reason codes.
	Name string `json:"name"`
	// Description is metadata.description.
	Description string `json:"description,omitempty"`
	// DefaultAction applies when the config sets no action.
	DefaultAction string `json:"defaultAction"`
	// NeedsParameters: the policy checks nothing without parameters, so
	// with none configured (and no action set) it is not evaluated at all.
	NeedsParameters bool `json:"needsParameters,omitempty"`
	// Files are the source files of the policy package.
	Files []string `json:"files"`
}

var policyNameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// policyName maps a package to a policy name: "tollgate.allowed_registries"
// is "allowed-registries". Only packages with exactly two segments whose
// first is "tollgate" are policies; "tollgate.lib" and anything deeper
// (tollgate.lib.pod) are helper packages.
func policyName(pkg ast.Ref) (name, segment string, ok bool) {
	if len(pkg) != 3 || !pkg[0].Equal(ast.DefaultRootDocument) {
		return "", "", false
	}
	first, ok1 := pkg[1].Value.(ast.String)
	second, ok2 := pkg[2].Value.(ast.String)
	if !ok1 || !ok2 || first != "tollgate" || second == "lib" {
		return "", "", false
	}
	return strings.ReplaceAll(string(second), "_", "-"), string(second), true
}

// New loads every .rego file except *_test.rego from each source, compiles
// them together once, and prepares one query per policy. A package defined
// in a later source replaces that package of earlier sources (see
// loadModules). It has no side effects: errors name the file and line (file
// paths are relative to their source; when two loaded files of different
// sources share a path, the later is prefixed "source<N>/").
func New(ctx context.Context, sources ...fs.FS) (*Engine, error) {
	modules, replaced, err := loadModules(sources)
	if err != nil {
		return nil, err
	}
	compiler := NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", FormatErrors(compiler.Errors))
	}
	e := &Engine{byName: map[string]*compiledPolicy{}, images: newImages(), replaced: replaced, notShared: shareable(compiler.Modules)}
	e.schemaQ, err = rego.New(
		rego.Query(`r := json.match_schema(input.document, input.schema)`),
		rego.Capabilities(Capabilities()),
		rego.StrictBuiltinErrors(true),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare schema check: %w", err)
	}

	found := map[string]*compiledPolicy{}
	var errs []error
	for _, file := range sortedKeys(modules) {
		mod := compiler.Modules[file]
		name, seg, ok := policyName(mod.Package.Path)
		if !ok {
			continue
		}
		if !policyNameRE.MatchString(seg) {
			errs = append(errs, fmt.Errorf("%s:%d: %s: policy packages must be lowercase words joined by \"_\"", file, mod.Package.Location.Row, mod.Package))
			continue
		}
		p := found[name]
		if p == nil {
			p = &compiledPolicy{info: PolicyInfo{Name: name, DefaultAction: ActionDeny}, pkg: "tollgate." + seg}
			found[name] = p
		}
		p.info.Files = append(p.info.Files, file)
		for _, r := range mod.Rules {
			switch r.Head.Name.String() {
			case "deny":
				p.hasDeny = true
			case "warn":
				p.hasWarn = true
			case "parameter_errors":
				p.paramErrs = &rego.PreparedEvalQuery{}
			}
		}
	}
	for _, name := range sortedKeys(found) {
		p := found[name]
		if err := e.prepare(ctx, compiler, p); err != nil {
			errs = append(errs, err)
			continue
		}
		e.policies = append(e.policies, p)
		e.byName[name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// prepare reads a policy's metadata and prepares its queries.
func (e *Engine) prepare(ctx context.Context, compiler *ast.Compiler, p *compiledPolicy) error {
	where := fmt.Sprintf("%s (package %s)", strings.Join(p.info.Files, ", "), p.pkg)
	if !p.hasDeny && !p.hasWarn {
		return fmt.Errorf("%s: a policy package must define a deny or warn rule (helpers belong in tollgate.lib.*)", where)
	}
	opts := func(query string) []func(*rego.Rego) {
		return append([]func(*rego.Rego){
			rego.Compiler(compiler),
			rego.Query(query),
			rego.StrictBuiltinErrors(true),
		}, e.images.regoFunctions()...)
	}
	if err := e.readMetadata(ctx, opts("m := data."+p.pkg+".metadata"), p, where); err != nil {
		return err
	}
	var q []string
	if p.hasDeny {
		q = append(q, "deny := data."+p.pkg+".deny")
	}
	if p.hasWarn {
		q = append(q, "warn := data."+p.pkg+".warn")
	}
	var err error
	if p.query, err = rego.New(opts(strings.Join(q, "; "))...).PrepareForEval(ctx); err != nil {
		return fmt.Errorf("%s: prepare: %w", where, err)
	}
	if p.paramErrs != nil {
		pq, err := rego.New(opts("errs := data." + p.pkg + ".parameter_errors")...).PrepareForEval(ctx)
		if err != nil {
			return fmt.Errorf("%s: prepare parameter_errors: %w", where, err)
		}
		p.paramErrs = &pq
	}
	return nil
}

// readMetadata evaluates the optional constant `metadata` rule:
//
//	metadata := {
//		"description": "...",          # optional
//		"defaultAction": "deny",       # deny (default), warn, dryrun or off
//		"needsParameters": true,       # optional; with none configured and no action set, the policy is off
//		"parameters": {JSON schema},   # optional; Validate checks parameters against it
//	}
func (e *Engine) readMetadata(ctx context.Context, opts []func(*rego.Rego), p *compiledPolicy, where string) error {
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		return fmt.Errorf("%s: metadata: %w", where, err)
	}
	if len(rs) == 0 {
		return nil // no metadata: deny by default, any parameters
	}
	m, ok := rs[0].Bindings["m"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s: metadata must be an object", where)
	}
	for k, v := range m {
		switch k {
		case "description":
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("%s: metadata.description must be a string", where)
			}
			p.info.Description = s
		case "defaultAction":
			s, _ := v.(string)
			if !validAction(s) || s == "" {
				return fmt.Errorf("%s: metadata.defaultAction %v is not one of deny, warn, dryrun, off", where, v)
			}
			p.info.DefaultAction = s
		case "needsParameters":
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf("%s: metadata.needsParameters must be a boolean", where)
			}
			p.info.NeedsParameters = b
		case "parameters":
			val, err := ast.InterfaceToValue(v)
			if err != nil {
				return fmt.Errorf("%s: metadata.parameters: %w", where, err)
			}
			p.schema = ast.NewTerm(val)
			if _, err := e.matchSchema(ctx, map[string]any{}, p.schema); err != nil {
				return fmt.Errorf("%s: metadata.parameters is not a valid JSON schema: %w", where, err)
			}
		default:
			return fmt.Errorf("%s: metadata.%s is not a known key (description, defaultAction, needsParameters, parameters)", where, k)
		}
	}
	return nil
}

func validAction(a string) bool {
	switch a {
	case "", ActionDeny, ActionWarn, ActionDryRun, ActionOff:
		return true
	}
	return false
}

// Policies returns the names of the loaded policies, sorted.
func (e *Engine) Policies() []string {
	names := make([]string, len(e.policies))
	for i, p := range e.policies {
		names[i] = p.info.Name
	}
	return names
}

// Describe returns information about every loaded policy, sorted by name.
func (e *Engine) Describe() []PolicyInfo {
	out := make([]PolicyInfo, len(e.policies))
	for i, p := range e.policies {
		out[i] = p.info
		out[i].Files = append([]string(nil), p.info.Files...)
	}
	return out
}

// loadModules parses the policy files of every source. A package defined
// in a later source replaces the same package of every earlier source as a
// whole (its files there are not loaded), so a policy directory can override
// a shipped policy, or be a full copy of the shipped set, without rules
// being merged. Files of one package within one source merge as usual.
func loadModules(sources []fs.FS) (map[string]*ast.Module, []Replacement, error) {
	var all []parsed
	owner := map[string]int{} // package -> last source defining it
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true, Capabilities: Capabilities()}
	var errs []error
	for i, src := range sources {
		err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != "." && strings.HasPrefix(d.Name(), ".") {
				// A mounted ConfigMap keeps each version in a hidden ..<timestamp>
				// directory behind the visible symlinks: load the files once.
				return fs.SkipDir
			}
			if d.IsDir() || !IsPolicyFile(p) {
				return nil
			}
			b, err := fs.ReadFile(src, p)
			if err != nil {
				return err
			}
			mod, err := ast.ParseModuleWithOpts(p, string(b), popts)
			if err != nil {
				errs = append(errs, FormatErrors(err))
				return nil
			}
			all = append(all, parsed{source: i, path: p, mod: mod})
			owner[mod.Package.Path.String()] = i
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read policies: %w", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("parse policies: %w", err)
	}
	if err := reservedLib(all); err != nil {
		return nil, nil, err
	}
	modules := map[string]*ast.Module{}
	for _, m := range all {
		if owner[m.mod.Package.Path.String()] != m.source {
			continue // overridden by a later source
		}
		name := m.path
		if _, dup := modules[name]; dup {
			name = path.Join(fmt.Sprintf("source%d", m.source+1), m.path)
			relocate(m.mod, name)
		}
		modules[name] = m.mod
	}
	return modules, replacements(all, owner), nil
}

// relocate renames the file a module's locations point at, so errors name
// the file that will be reported.
func relocate(mod *ast.Module, name string) {
	ast.WalkNodes(mod, func(n ast.Node) bool {
		if loc := n.Loc(); loc != nil {
			loc.File = name
		}
		return false
	})
}

// IsPolicyFile reports whether the engine loads a file: *.rego but not *_test.rego.
func IsPolicyFile(name string) bool {
	return strings.HasSuffix(name, ".rego") && !strings.HasSuffix(name, "_test.rego")
}

// FormatErrors turns OPA's errors into one "file:line: message" line each.
func FormatErrors(err error) error {
	var astErrs ast.Errors
	if !errors.As(err, &astErrs) {
		return err
	}
	lines := make([]string, 0, len(astErrs))
	for _, e := range astErrs {
		loc := "<unknown>"
		if e.Location != nil {
			loc = fmt.Sprintf("%s:%d", e.Location.File, e.Location.Row)
		}
		lines = append(lines, fmt.Sprintf("%s: %s: %s", loc, e.Code, e.Message))
	}
	sort.Strings(lines)
	return errors.New(strings.Join(lines, "\n"))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
