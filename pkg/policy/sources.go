package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// libRef is the root of the helper packages reserved to the first source
// (the binary's own policies; with --no-builtin-policies, the directory
// that takes their place).
var libRef = ast.MustParseRef("data.tollgate.lib")

// parsed is one policy file of one source.
type parsed struct {
	source int
	path   string
	mod    *ast.Module
}

// Replacement is a package of an earlier source that a later source
// replaced as a whole.
type Replacement struct {
	// Package is the replaced package, e.g. "tollgate.allowed_registries".
	Package string `json:"package"`
	// Policy is the policy name, or "" for a helper package.
	Policy string `json:"policy,omitempty"`
	// Files are the replacing files.
	Files []string `json:"files"`
}

// reservedLib refuses any package or rule under data.tollgate.lib outside
// the first source: the shipped policies trust those helpers (a custom
// "containers := set()" there would switch every one of them off), so only
// the binary defines them. Rule heads count too, since a package
// "tollgate" could write "lib.pod.images contains ...".
//
// An unchanged copy of a first-source file (a checkout of the shipped
// policies given as a directory) is allowed.
func reservedLib(all []parsed) error {
	copied := unchangedCopies(all)
	var errs []error
	for _, m := range all {
		if m.source == 0 || copied[m] {
			continue
		}
		if m.mod.Package.Path.HasPrefix(libRef) {
			errs = append(errs, fmt.Errorf("%s:%d: package %s is reserved for Tollgate's own helpers (data.tollgate.lib); give your helpers another package, e.g. tollgate.mylib.%s",
				m.path, m.mod.Package.Location.Row, m.mod.Package.Path, lastSegment(m.mod.Package.Path)))
			continue
		}
		for _, r := range m.mod.Rules {
			if full := r.Path(); full.HasPrefix(libRef) || libRef.HasPrefix(full) {
				errs = append(errs, fmt.Errorf("%s:%d: rule %s writes into data.tollgate.lib, which is reserved for Tollgate's own helpers",
					m.path, r.Location.Row, r.Ref()))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	return nil
}

// unchangedCopies finds the files of later sources that are the same
// module at the same path as a file of the first source.
func unchangedCopies(all []parsed) map[parsed]bool {
	first := map[string]*ast.Module{}
	for _, m := range all {
		if m.source == 0 {
			first[m.path] = m.mod
		}
	}
	out := map[parsed]bool{}
	for _, m := range all {
		if m.source > 0 && first[m.path] != nil && first[m.path].Equal(m.mod) {
			out[m] = true
		}
	}
	return out
}

func lastSegment(ref ast.Ref) string {
	if s, ok := ref[len(ref)-1].Value.(ast.String); ok {
		return string(s)
	}
	return "helpers"
}

// replacements lists the packages defined in more than one source, each
// with the files of the source that wins (owner maps a package to it);
// unchanged copies of first-source files do not count.
func replacements(all []parsed, owner map[string]int) []Replacement {
	copied := unchangedCopies(all)
	first := map[string]int{}
	for _, m := range all {
		pkg := m.mod.Package.Path.String()
		if s, ok := first[pkg]; !ok || m.source < s {
			first[pkg] = m.source
		}
	}
	// Indexes, not pointers, into out: appending may move its elements.
	byPkg := map[string]int{}
	var out []Replacement
	for _, m := range all {
		pkg := m.mod.Package.Path.String()
		if first[pkg] == owner[pkg] || m.source != owner[pkg] || copied[m] {
			continue
		}
		i, ok := byPkg[pkg]
		if !ok {
			name, _, _ := policyName(m.mod.Package.Path)
			out = append(out, Replacement{Package: pkg[len("data."):], Policy: name})
			i = len(out) - 1
			byPkg[pkg] = i
		}
		out[i].Files = append(out[i].Files, m.path)
	}
	slices.SortFunc(out, func(a, b Replacement) int { return strings.Compare(a.Package, b.Package) })
	return out
}

// Replacements lists the packages of earlier sources (the shipped policies
// first) that a later source replaced, in package order.
func (e *Engine) Replacements() []Replacement { return slices.Clone(e.replaced) }

// validateOverrides requires every replaced policy to be named in
// policies.overrides, and every name there to be a loaded policy, so a
// policy directory cannot replace a shipped policy by accident.
func (e *Engine) validateOverrides(s Settings) []error {
	var errs []error
	for i, name := range s.Overrides {
		if _, ok := e.byName[name]; !ok {
			errs = append(errs, fmt.Errorf("policies.overrides[%d]: unknown policy %q", i, name))
		}
	}
	for _, r := range e.replaced {
		if r.Policy != "" && !slices.Contains(s.Overrides, r.Policy) {
			errs = append(errs, fmt.Errorf("policies: %v replace policy %q (package %s) of an earlier source; name it in policies.overrides to allow that",
				r.Files, r.Policy, r.Package))
		}
	}
	return errs
}
