package scene

import (
	"context"
	"fmt"
	"time"
)

// Steps is the walkthrough, in order: what `make e2e-node` checks and
// `make demo-node` shows.
func (s *Scene) Steps() []Step {
	return []Step{
		{"helm install with default values (tls.mode certManager, 2 replicas)", s.Install},
		{"two Ready replicas with the chart's probes and security context", func(ctx context.Context) error {
			pods, err := s.WaitReplicas(ctx, 2)
			if err != nil {
				return err
			}
			return s.CheckPods(ctx, pods)
		}},
		{"caBundle injected by cert-manager", s.CheckCABundle},
		{"a Pod mutated and a Pod denied through the chart's Service", s.AdmitWithDefaults},
		{"one replica deleted while admissions keep succeeding", s.LoseReplica},
		{"certificate renewal reaches the running Pods", s.Renewal},
		{"helm upgrade adding a custom policy", s.UpgradeAddPolicy},
		{"helm upgrade changing config and policy: hot reload, no restart", s.UpgradeHotReload},
		{"the examples, as make demo applies them", s.Examples},
		{"helm uninstall: no webhook left, Pods still created", s.Uninstall},
	}
}

// Step is one part of the walkthrough.
type Step struct {
	Name string
	Run  func(context.Context) error
}

// RunAll runs the steps in order, stopping at the first failure, and
// logs how long each took.
func (s *Scene) RunAll(ctx context.Context) error {
	for i, st := range s.Steps() {
		s.Log("---- step %d: %s", i+1, st.Name)
		begin := time.Now()
		if err := st.Run(ctx); err != nil {
			return fmt.Errorf("step %d (%s): %w", i+1, st.Name, err)
		}
		s.Log("---- step %d done in %s", i+1, since(begin))
	}
	return nil
}
