package bench

import (
	"context"
	"fmt"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

const defaultingLimitRange = `apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: team-a}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
`

// BenchmarkHostileMutate serves the same hostile Pods through the mutating
// webhook with a LimitRange that defaults every container, so each answer
// carries a JSON patch: its cost must grow linearly with labels and
// containers too.
func BenchmarkHostileMutate(b *testing.B) {
	engine, err := policy.New(context.Background(), policies.FS)
	if err != nil {
		b.Fatal(err)
	}
	facts := cluster.NewStatic()
	if err := facts.AddYAML([]byte(defaultingLimitRange), "bench"); err != nil {
		b.Fatal(err)
	}
	p := pipeline.New(facts, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{})
	h := &admission.Webhook{Handler: &webhook.PodMutator{Pipeline: p}}
	cases := map[string][]byte{}
	for _, n := range []int{15000, 50000, 150000} {
		cases[fmt.Sprintf("labels=%d", n)] = review(b, "CREATE", labelled(n), nil)
	}
	for _, n := range []int{500, 1500, 5000} {
		cases[fmt.Sprintf("containers=%d", n)] = review(b, "CREATE", containers(n), nil)
	}
	for _, name := range []string{"labels=15000", "labels=50000", "labels=150000", "containers=500", "containers=1500", "containers=5000"} {
		body := cases[name]
		b.Run(name, func(b *testing.B) { serveEach(b, h, body, true) })
	}
}
