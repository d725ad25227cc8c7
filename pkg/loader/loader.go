// Package loader builds the pipeline's state (config and compiled policies)
// from files, the same way for `tollgate serve`, `eval`, `test` and
// `check-config`, and for the check of an edited ConfigMap.
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
	// Lookups, when set, builds the registry lookups of pinning for a
	// loaded config (the server: pkg/imagepin); nil leaves them out, as
	// offline. An error refuses the load like a bad file.
	Lookups func(*config.Config) (pipeline.ImageLookups, error)
	// Verifier, when set, builds the signature verifier for a loaded config
	// (the server: registry client and pull secrets); nil leaves it out.
	Verifier func(*config.Config) (pipeline.Verifier, error)
}

// Override puts content that is not on disk yet in place of one source:
// what an edited ConfigMap would make the mounted files. Zero fields
// override nothing.
type Override struct {
	// Config, when not nil, replaces the config file's content; ConfigName
	// names it in errors.
	Config     []byte
	ConfigName string
	// Policies, when not nil, replaces the content of PolicyDirs[PolicyDir].
	Policies  fs.FS
	PolicyDir int
}

// Load reads and checks everything; on error nothing is returned, so a
// caller that reloads keeps its last good state.
func Load(ctx context.Context, src Sources) (*pipeline.State, error) {
	return LoadWith(ctx, src, Override{})
}

// LoadWith is Load with part of the sources replaced by o. Its errors are
// the ones Load gives for the same content on disk, so a refused edit reads
// as the replica would log it.
func LoadWith(ctx context.Context, src Sources, o Override) (*pipeline.State, error) {
	cfg, name, err := loadConfig(src, o)
	if err != nil {
		return nil, err
	}
	var fss []fs.FS
	if !src.NoBuiltinPolicies {
		fss = append(fss, policies.FS)
	}
	for i, dir := range src.PolicyDirs {
		if o.Policies != nil && i == o.PolicyDir {
			fss = append(fss, o.Policies)
			continue
		}
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
		return nil, fmt.Errorf("config %s: policies: %w", name, err)
	}
	st := &pipeline.State{Config: cfg, Policies: engine}
	if src.Lookups != nil {
		if st.Lookups, err = src.Lookups(cfg); err != nil {
			return nil, fmt.Errorf("config %s: pinning: %w", name, err)
		}
	}
	if src.Verifier != nil {
		if st.Verifier, err = src.Verifier(cfg); err != nil {
			return nil, fmt.Errorf("config %s: verification: %w", name, err)
		}
	}
	return st, nil
}

// loadConfig returns the config and the name its errors use.
func loadConfig(src Sources, o Override) (*config.Config, string, error) {
	if o.Config != nil {
		cfg, err := config.Parse(o.Config)
		if err != nil {
			return nil, "", fmt.Errorf("config %s: %w", o.ConfigName, err)
		}
		return cfg, o.ConfigName, nil
	}
	if src.ConfigFile == "" {
		return config.Default(), "(built-in default)", nil
	}
	cfg, err := config.Load(src.ConfigFile)
	if err != nil {
		return nil, "", err
	}
	return cfg, src.ConfigFile, nil
}
