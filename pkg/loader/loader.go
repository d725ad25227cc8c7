// Package loader builds the pipeline's state (config and compiled policies)
// from files, the same way for `tollgate serve`, `eval` and `test`.
package loader

import (
	"context"
	"fmt"
	"io/fs"
	"os"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/policies"
)

// Sources say where config and policies come from.
type Sources struct {
	// ConfigFile is the config path; empty means config.Default().
	ConfigFile string
	// PolicyDirs are extra policy directories, loaded after the shipped ones.
	PolicyDirs []string
	// NoBuiltinPolicies leaves the shipped policies out.
	NoBuiltinPolicies bool
	// Observer receives per-policy evaluation results (metrics).
	Observer policy.Observer
}

// Load reads and checks everything; on error nothing is returned, so a
// caller that reloads keeps its last good state.
func Load(ctx context.Context, src Sources) (*pipeline.State, error) {
	cfg := config.Default()
	if src.ConfigFile != "" {
		var err error
		if cfg, err = config.Load(src.ConfigFile); err != nil {
			return nil, err
		}
	}
	var fss []fs.FS
	if !src.NoBuiltinPolicies {
		fss = append(fss, policies.FS)
	}
	for _, dir := range src.PolicyDirs {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("policy directory: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("policy directory %s: not a directory", dir)
		}
		fss = append(fss, os.DirFS(dir))
	}
	engine, err := policy.New(ctx, fss...)
	if err != nil {
		return nil, fmt.Errorf("load policies: %w", err)
	}
	engine.Observer = src.Observer
	if err := engine.Validate(cfg.Policies); err != nil {
		return nil, fmt.Errorf("config %s: policies: %w", orDefault(src.ConfigFile), err)
	}
	return &pipeline.State{Config: cfg, Policies: engine}, nil
}

func orDefault(path string) string {
	if path == "" {
		return "(built-in default)"
	}
	return path
}
