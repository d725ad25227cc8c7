// Package pipeline composes the decisions (defaults, quota, policy,
// workload checks) for one admission request, Pod or workload: it decodes
// the request's objects, gathers the facts and runs the decisions. The
// webhook handlers, `tollgate eval` and `tollgate test` all go through it,
// so they cannot disagree. It knows nothing about HTTP or JSON patches.
package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// Facts are the cluster objects the decisions read: the server reads them
// from the manager's cache, eval from files.
type Facts interface {
	// Namespace returns the namespace, or nil when it does not exist.
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
	LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error)
	Quotas(ctx context.Context, namespace string) ([]corev1.ResourceQuota, error)
}

// Targets find the workload a scale subresource request is about, since a
// Scale carries no Pod template. A missing workload is nil, not an error.
type Targets interface {
	Workload(ctx context.Context, resource metav1.GroupVersionResource, namespace, name string) (*workload.Workload, error)
}

// State is what a reload replaces as a whole: the config and the policies
// compiled against it.
type State struct {
	Config   *config.Config
	Policies *policy.Engine
	// Lookups resolves image tags for pinning, built for Config's
	// registries (pkg/imagepin); nil offline and when pinning is off.
	Lookups ImageLookups
	// Verifier checks image signatures for Config's verification block;
	// nil means no registry access (offline without a registry fixture).
	Verifier Verifier

	once     sync.Once
	settings *policy.Compiled
}

// PolicySettings are the config's policy settings compiled for Policies,
// once per state (so once per load or reload), not per request.
func (s *State) PolicySettings() *policy.Compiled {
	s.once.Do(func() { s.settings = s.Policies.Compile(s.Config.Policies) })
	return s.settings
}

// Pipeline runs the decisions. It is safe for concurrent use.
type Pipeline struct {
	facts        Facts
	targets      Targets
	ledger       *quota.Ledger
	ownNamespace string
	state        atomic.Pointer[State]
}

// Options configure a Pipeline.
type Options struct {
	// OwnNamespace is never acted on, so Tollgate cannot lock itself out.
	OwnNamespace string
	// Ledger, when set, remembers admitted Pods that quota status does not show yet.
	Ledger *quota.Ledger
	// Targets reads the workload behind a scale request; nil skips those.
	Targets Targets
}

// New builds a pipeline over facts with an initial state.
func New(facts Facts, st *State, opts Options) *Pipeline {
	p := &Pipeline{facts: facts, targets: opts.Targets, ledger: opts.Ledger, ownNamespace: opts.OwnNamespace}
	p.state.Store(st)
	return p
}

// Swap replaces config and policies atomically; requests in flight finish
// with the state they started with.
func (p *Pipeline) Swap(st *State) { p.state.Store(st) }

// State returns the state in force.
func (p *Pipeline) State() *State { return p.state.Load() }

// skipped reports requests Tollgate never acts on: its own namespace,
// operations other than CREATE and UPDATE, and subresources it does not own.
func (p *Pipeline) skipped(req Request) bool {
	if p.ownNamespace != "" && req.Namespace == p.ownNamespace {
		return true
	}
	if req.Operation != "CREATE" && req.Operation != "UPDATE" {
		return true
	}
	switch req.SubResource {
	case "", "resize", "ephemeralcontainers":
		return false
	}
	return true
}

// defaulted reports whether LimitRange semantics apply: upstream runs them on
// CREATE and on pods/resize, never on other updates.
func (p *Pipeline) defaulted(req Request) bool {
	if p.skipped(req) {
		return false
	}
	return (req.Operation == "CREATE" && req.SubResource == "") ||
		(req.Operation == "UPDATE" && req.SubResource == "resize")
}

func (p *Pipeline) limitInputs(ctx context.Context, namespace string) (defaults.Inputs, *corev1.Namespace, error) {
	ns, err := p.facts.Namespace(ctx, namespace)
	if err != nil {
		return defaults.Inputs{}, nil, fmt.Errorf("read namespace %q: %w", namespace, err)
	}
	lrs, err := p.facts.LimitRanges(ctx, namespace)
	if err != nil {
		return defaults.Inputs{}, nil, fmt.Errorf("read limit ranges of namespace %q: %w", namespace, err)
	}
	return defaults.Inputs{LimitRanges: lrs, Profiles: p.State().Config.ProfilesFor(ns)}, ns, nil
}

// terminating reports an old object marked for deletion; upstream skips limits then.
func terminating(old *corev1.Pod) bool { return old != nil && old.DeletionTimestamp != nil }
