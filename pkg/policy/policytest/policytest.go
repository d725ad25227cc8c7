// Package policytest implements `tollgate test`: it runs the Rego unit tests
// (*_test.rego) and the AdmissionReview fixture suites found under the given
// directories, through the same engine and pipeline as the webhook.
//
// A fixture case is any directory holding request.yaml (an AdmissionReview
// v1) and want.yaml (allowed, reasons, warnings), with optional config.yaml
// (a tollgate.dev/v1alpha1 Config) and cluster.yaml (Namespaces,
// LimitRanges, ResourceQuotas). A directory's cases run against the shipped
// policies plus the directory's own policy files, which replace shipped
// packages of the same name, as `tollgate serve` loads a policy directory
// (Options.Policies replaces both).
package policytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/policies"
)

// Options control a run.
type Options struct {
	// Verbose prints every case, not only failures.
	Verbose bool
	// Out receives the report; nil means os.Stdout.
	Out io.Writer
	// Policies, when set, are the policies fixture cases run against,
	// instead of the shipped ones plus the directory's own.
	Policies []fs.FS
	// Timeout bounds each Rego test; zero means 10s.
	Timeout time.Duration
	// Update rewrites each fixture's want.yaml with what it got, instead of
	// comparing. Review the diff before committing.
	Update bool
	// Registry is the registry fixture for cases without a registry.yaml
	// (sigverify.ParseFixture: a layout directory or a URL); RegistryCA its CA.
	Registry, RegistryCA string
}

// counts tallies one directory's cases.
type counts struct{ passed, failed int }

// Run tests every directory and prints a go-test-like report: a line per
// failing case (every case with Verbose) with got and want, then "ok" or
// "FAIL" per directory with counts. failed is true when any case failed;
// err reports a directory that could not be tested at all (unreadable,
// policies that do not compile), which also counts as a failure.
func Run(ctx context.Context, dirs []string, opts Options) (failed bool, err error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var errs []error
	for _, dir := range dirs {
		start := time.Now()
		c, derr := runDir(ctx, dir, opts)
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case derr != nil:
			fmt.Fprintf(opts.Out, "FAIL\t%s\t%v\n", dir, derr)
			errs = append(errs, fmt.Errorf("%s: %w", dir, derr))
			failed = true
		case c.failed > 0:
			fmt.Fprintf(opts.Out, "FAIL\t%s\t%s\t%d passed, %d failed\n", dir, took, c.passed, c.failed)
			failed = true
		case c.passed == 0:
			fmt.Fprintf(opts.Out, "?\t%s\t[no Rego tests or fixture cases]\n", dir)
		default:
			fmt.Fprintf(opts.Out, "ok\t%s\t%s\t%d passed\n", dir, took, c.passed)
		}
	}
	return failed, errors.Join(errs...)
}

// Builtin, given as a directory, tests the policies embedded in the binary
// (their _test.rego files; the binary holds no fixture cases).
const Builtin = "(built-in)"

func runDir(ctx context.Context, dir string, opts Options) (counts, error) {
	var c counts
	if dir == Builtin {
		modules, _, err := loadRego(policies.FS, Builtin)
		if err != nil {
			return c, err
		}
		return c, runRegoTests(ctx, modules, opts, &c)
	}
	if st, err := os.Stat(dir); err != nil {
		return counts{}, err
	} else if !st.IsDir() {
		return counts{}, fmt.Errorf("not a directory")
	}
	modules, hasPolicies, err := loadRego(os.DirFS(dir), dir)
	if err != nil {
		return c, err
	}
	base := opts.Policies
	if base == nil {
		base = []fs.FS{policies.FS}
	}
	if err := addBase(modules, base); err != nil {
		return c, err
	}
	if err := runRegoTests(ctx, modules, opts, &c); err != nil {
		return c, err
	}
	cases, err := findCases(dir)
	if err != nil {
		return c, err
	}
	if len(cases) == 0 {
		return c, nil
	}
	sources := opts.Policies
	if sources == nil {
		sources = []fs.FS{policies.FS}
		if hasPolicies {
			sources = append(sources, os.DirFS(dir))
		}
	}
	engine, err := policy.New(ctx, sources...)
	if err != nil {
		return c, err
	}
	for _, cs := range cases {
		name := filepath.ToSlash(cs)
		start := time.Now()
		report, err := runCase(ctx, cs, engine, opts.Update, fallbackRegistry(opts))
		took := time.Since(start)
		switch {
		case err != nil:
			c.failed++
			fmt.Fprintf(opts.Out, "--- FAIL: %s (%s)\n    %s\n", name, fmtDur(took), indent(err.Error()))
		case report != "":
			c.failed++
			fmt.Fprintf(opts.Out, "--- FAIL: %s (%s)\n%s", name, fmtDur(took), report)
		default:
			c.passed++
			if opts.Verbose {
				fmt.Fprintf(opts.Out, "--- PASS: %s (%s)\n", name, fmtDur(took))
			}
		}
	}
	return c, nil
}

// loadRego parses every .rego file of fsys (tests included), naming them
// dir/<path>, and tells whether any of them is a policy file.
func loadRego(fsys fs.FS, dir string) (map[string]*ast.Module, bool, error) {
	modules := map[string]*ast.Module{}
	hasPolicies := false
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true, Capabilities: policy.Capabilities()}
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(dir, p))
		mod, err := ast.ParseModuleWithOpts(name, string(b), popts)
		if err != nil {
			errs = append(errs, policy.FormatErrors(err))
			return nil
		}
		modules[name] = mod
		hasPolicies = hasPolicies || policy.IsPolicyFile(p)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return modules, hasPolicies, errors.Join(errs...)
}

// addBase adds the policy files (not tests) of the base sources to the
// directory's modules, so tests can import shipped helpers such as
// data.tollgate.lib.pod. Packages the directory defines replace the base's,
// as in the engine.
func addBase(modules map[string]*ast.Module, base []fs.FS) error {
	own := map[string]bool{}
	for _, m := range modules {
		own[m.Package.Path.String()] = true
	}
	popts := ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true, Capabilities: policy.Capabilities()}
	for i, src := range base {
		err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !policy.IsPolicyFile(p) {
				return err
			}
			b, err := fs.ReadFile(src, p)
			if err != nil {
				return err
			}
			name := fmt.Sprintf("(base%d)/%s", i+1, p)
			if len(base) == 1 {
				name = "(built-in)/" + p
			}
			mod, err := ast.ParseModuleWithOpts(name, string(b), popts)
			if err != nil {
				return policy.FormatErrors(err)
			}
			if !own[mod.Package.Path.String()] {
				modules[name] = mod
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load base policies: %w", err)
		}
	}
	return nil
}

// runRegoTests runs the test_ rules with Tollgate's builtins and capabilities.
func runRegoTests(ctx context.Context, modules map[string]*ast.Module, opts Options, c *counts) error {
	hasTests := false
	for name := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			hasTests = true
		}
	}
	if !hasTests {
		return nil
	}
	ch, err := tester.NewRunner().
		SetCompiler(policy.NewCompiler().WithEnablePrintStatements(true)).
		AddCustomBuiltins(policy.TesterBuiltins()).
		RaiseBuiltinErrors(true).
		SetTimeout(opts.Timeout).
		CapturePrintOutput(true).
		Run(ctx, modules)
	if err != nil {
		return fmt.Errorf("compile Rego: %w", policy.FormatErrors(err))
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Location.File != results[j].Location.File {
			return results[i].Location.File < results[j].Location.File
		}
		return results[i].Location.Row < results[j].Location.Row
	})
	for _, r := range results {
		name := fmt.Sprintf("%s.%s", strings.TrimPrefix(r.Package, "data."), r.Name)
		switch {
		case r.Skip:
			if opts.Verbose {
				fmt.Fprintf(opts.Out, "--- SKIP: %s\n", name)
			}
		case r.Pass():
			c.passed++
			if opts.Verbose {
				fmt.Fprintf(opts.Out, "--- PASS: %s (%s)\n", name, fmtDur(r.Duration))
			}
		default:
			c.failed++
			why := "test rule is false or undefined"
			if r.Error != nil {
				why = r.Error.Error()
			}
			fmt.Fprintf(opts.Out, "--- FAIL: %s (%s)\n    %s:%d: %s\n", name, fmtDur(r.Duration), r.Location.File, r.Location.Row, indent(why))
			if len(r.Output) > 0 {
				fmt.Fprintf(opts.Out, "    output:\n    %s\n", indent(strings.TrimSpace(string(r.Output))))
			}
		}
	}
	return nil
}

func fmtDur(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }
