package policytest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/apidefaults"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/fixture"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/sigverify"
)

// findCases returns every case folder under dir (see pkg/fixture). A
// want.yaml without a request.yaml is a stale case and an error.
func findCases(dir string) ([]string, error) {
	cases, err := fixture.Find(dir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c] = true
	}
	var stale []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == fixture.WantFile && !seen[filepath.Dir(p)] {
			stale = append(stale, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		return nil, fmt.Errorf("%s without %s (stale case?): %s", fixture.WantFile, fixture.RequestFile, strings.Join(stale, ", "))
	}
	return cases, nil
}

// runCase reviews the case through the pipeline and returns "" when the
// outcome matches want.yaml, else a got/want report. err means the case is
// broken (unreadable files, a config the policies reject, no want.yaml).
func runCase(ctx context.Context, dir string, engine *policy.Engine, update bool, registry *sigverify.Fixture) (string, error) {
	c, err := fixture.Load(dir)
	if err != nil {
		return "", err
	}
	if c.Registry == nil {
		c.Registry = registry
	}
	cfg := c.Config
	if cfg == nil {
		cfg = config.Default()
	}
	if err := engine.Validate(cfg.Policies); err != nil {
		return "", fmt.Errorf("%s: %w", fixture.ConfigFile, err)
	}
	st := &pipeline.State{Config: cfg, Policies: engine}
	if v, err := c.Verifier(cfg); err != nil {
		return "", err
	} else if v != nil {
		st.Verifier = v
	}
	got, err := review(ctx, c, st)
	if err != nil {
		return "", err
	}
	if update {
		b, err := yaml.Marshal(got)
		if err != nil {
			return "", err
		}
		return "", os.WriteFile(c.Path(fixture.WantFile), b, 0o644)
	}
	if c.Want == nil {
		return "", fmt.Errorf("missing %s (run with -update to write it, then review it)", fixture.WantFile)
	}
	if cmp.Equal(*c.Want, got, cmpopts.EquateEmpty()) {
		return "", nil
	}
	gy, _ := yaml.Marshal(got)
	wy, _ := yaml.Marshal(*c.Want)
	return fmt.Sprintf("    got:\n%s    want:\n%s", indentBlock(gy), indentBlock(wy)), nil
}

// fallbackRegistry is --registry with absolute paths (a case resolves
// relative ones from its own folder); nil when not given.
func fallbackRegistry(opts Options) *sigverify.Fixture {
	if opts.Registry == "" {
		return nil
	}
	f := sigverify.ParseFixture(opts.Registry, opts.RegistryCA)
	for _, p := range []*string{&f.Layout, &f.CAFile} {
		if *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return &f
}

func indentBlock(b []byte) string {
	var sb strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		sb.WriteString("      " + line + "\n")
	}
	return sb.String()
}

// review runs a case the way the API server would: a Pod through the
// mutating then validating webhook's decisions, a workload through
// /validate-workloads' decisions.
func review(ctx context.Context, c *fixture.Case, st *pipeline.State) (fixture.Want, error) {
	req := c.Review.Request
	// The API server defaults every Pod before admission; a file has not been.
	if err := apidefaults.Request(req); err != nil {
		return fixture.Want{}, fmt.Errorf("review: %w", err)
	}
	p := pipeline.New(c.Facts, st, pipeline.Options{Targets: c.Targets})
	out, err := p.Review(ctx, req)
	if err != nil {
		return fixture.Want{}, fmt.Errorf("review: %w", err)
	}
	return fixture.Want{Allowed: out.Allowed, Reasons: out.Reasons, Warnings: out.Warnings}, nil
}
