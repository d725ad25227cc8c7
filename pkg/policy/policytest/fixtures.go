package policytest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Want is the part of want.yaml a case is checked against. Other keys
// (e.g. a patch, written by the fixture tests) are ignored.
type Want struct {
	Allowed  bool             `json:"allowed"`
	Reasons  []verdict.Reason `json:"reasons"`
	Warnings []string         `json:"warnings"`
}

// findCases returns every directory under dir holding request.yaml. A
// want.yaml without a request.yaml is a stale case and an error.
func findCases(dir string) ([]string, error) {
	var cases []string
	seen := map[string]bool{}
	var wants []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
		case d.Name() == "request.yaml":
			cases = append(cases, filepath.Dir(p))
			seen[filepath.Dir(p)] = true
		case d.Name() == "want.yaml":
			wants = append(wants, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, w := range wants {
		if !seen[w] {
			return nil, fmt.Errorf("%s: want.yaml without request.yaml (stale case?)", w)
		}
	}
	sort.Strings(cases)
	return cases, nil
}

// runCase reviews request.yaml and returns "" when the outcome matches
// want.yaml, else a got/want report. err means the case is broken.
func runCase(ctx context.Context, dir string, engine *policy.Engine, update bool) (string, error) {
	var review admissionv1.AdmissionReview
	if err := readYAML(filepath.Join(dir, "request.yaml"), &review, true); err != nil {
		return "", err
	}
	var want Want
	if err := readYAML(filepath.Join(dir, "want.yaml"), &want, !update); err != nil {
		return "", err
	}
	cfg := config.Default()
	if data, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		if cfg, err = config.Parse(data); err != nil {
			return "", fmt.Errorf("config.yaml: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := engine.Validate(cfg.Policies); err != nil {
		return "", fmt.Errorf("config.yaml: %w", err)
	}
	facts := cluster.NewStatic()
	if data, err := os.ReadFile(filepath.Join(dir, "cluster.yaml")); err == nil {
		if err := facts.AddYAML(data, "cluster.yaml"); err != nil {
			return "", err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	p := pipeline.New(facts, &pipeline.State{Config: cfg, Policies: engine}, pipeline.Options{})
	out, err := p.Review(ctx, review.Request)
	if err != nil {
		return "", fmt.Errorf("review: %w", err)
	}
	got := Want{Allowed: out.Allowed, Reasons: out.Reasons, Warnings: out.Warnings}
	if update {
		b, err := yaml.Marshal(got)
		if err != nil {
			return "", err
		}
		return "", os.WriteFile(filepath.Join(dir, "want.yaml"), b, 0o644)
	}
	if equal(got, want) {
		return "", nil
	}
	gy, _ := yaml.Marshal(got)
	wy, _ := yaml.Marshal(want)
	return fmt.Sprintf("    got:\n%s    want:\n%s", indentBlock(gy), indentBlock(wy)), nil
}

func equal(a, b Want) bool {
	norm := func(w Want) Want {
		if len(w.Reasons) == 0 {
			w.Reasons = nil
		}
		if len(w.Warnings) == 0 {
			w.Warnings = nil
		}
		return w
	}
	return cmp.Equal(norm(a), norm(b))
}

func indentBlock(b []byte) string {
	var sb strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sb.WriteString("      " + line + "\n")
	}
	return sb.String()
}

func readYAML(path string, v any, required bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if !required && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
