package bench

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
	"github.com/tollgate-dev/tollgate/test/bench/workload"
)

// BenchmarkDecision runs each decision alone on the workload's Pods and
// namespace facts (5 LimitRanges, 10 quotas), and the pipeline's plumbing
// steps (decode, patch), so the handler's cost can be split up.
func BenchmarkDecision(b *testing.B) {
	ctx := context.Background()
	st, err := workload.State(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ns := workload.NamespaceObject(workload.Namespace)
	in := defaults.Inputs{LimitRanges: workload.LimitRanges(workload.Namespace), Profiles: st.Config.ProfilesFor(ns)}
	quotas := workload.Quotas(workload.Namespace)
	p := pipeline.New(workload.NewFacts(false), st, pipeline.Options{})

	for _, kind := range workload.Kinds {
		pod := workload.Pod(kind, workload.Namespace, "checkout")
		final, err := workload.Final(ctx, p, kind, workload.Namespace, "checkout")
		if err != nil {
			b.Fatal(err)
		}
		b.Run("defaults.Apply/"+string(kind), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				defaults.Apply(pod.DeepCopy(), in)
			}
		})
		b.Run("defaults.Validate/"+string(kind), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				defaults.Validate(final, in)
			}
		})
		b.Run("quota.Check/"+string(kind), func(b *testing.B) {
			qin := quota.Input{Operation: "CREATE", Pod: final, Quotas: quotas, DryRun: true, Options: st.Config.QuotaOptions()}
			b.ReportAllocs()
			for b.Loop() {
				quota.Check(qin)
			}
		})
		b.Run("quota.LedgerCheck/"+string(kind), func(b *testing.B) {
			l := quota.NewLedger(time.Now)
			qin := quota.Input{Operation: "CREATE", Pod: final, Quotas: quotas, DryRun: true, Options: st.Config.QuotaOptions()}
			b.ReportAllocs()
			for b.Loop() {
				l.Check(qin)
			}
		})
		pin := policy.Input{Request: policy.Request{Operation: "CREATE", Namespace: workload.Namespace, Name: "checkout"}, Object: final, Namespace: ns}
		b.Run("policy.shipped/"+string(kind), func(b *testing.B) {
			benchPolicy(b, st.Policies, pin, st.Config.Policies)
		})
		ar := workload.Review(pod, "uid", true)
		b.Run("pipeline.Decode/"+string(kind), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(ar.Request.Object.Raw)))
			for b.Loop() {
				if _, err := pipeline.Decode(ar.Request); err != nil {
					b.Fatal(err)
				}
			}
		})
		if kind == workload.NeedsDefaults {
			b.Run("webhook.Patch/"+string(kind), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := tgwebhook.Patch(ar.Request.Object.Raw, final); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("policy.generated-50/good", func(b *testing.B) {
		e := generated(b, 50)
		final, err := workload.Final(ctx, p, workload.Good, workload.Namespace, "checkout")
		if err != nil {
			b.Fatal(err)
		}
		benchPolicy(b, e, policy.Input{Request: policy.Request{Operation: "CREATE", Namespace: workload.Namespace, Name: "checkout"}, Object: final, Namespace: ns}, policy.Settings{})
	})
}

func benchPolicy(b *testing.B, e *policy.Engine, in policy.Input, s policy.Settings) {
	b.Helper()
	if _, err := e.Evaluate(b.Context(), in, s); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(b.Context(), in, s); err != nil {
			b.Fatal(err)
		}
	}
}

// generated compiles the shipped policies' library plus n generated
// policies, each walking every container, parsing its image and reading
// labels and parameters: the shape of a site's own image rules.
func generated(b *testing.B, n int) *policy.Engine {
	b.Helper()
	lib, err := policies.FS.ReadFile("lib/pod.rego")
	if err != nil {
		b.Fatal(err)
	}
	files := fstest.MapFS{"lib/pod.rego": {Data: lib}}
	for i := range n {
		files[fmt.Sprintf("gen/p%02d.rego", i)] = &fstest.MapFile{Data: fmt.Appendf(nil, `package tollgate.generated_%02d

import data.tollgate.lib.pod

deny contains {"msg": sprintf("%%s image %%q is on deny list %d", [pod.describe(c), c.image]), "path": sprintf("%%s.image", [c.path])} if {
	some c in pod.containers
	ref := tollgate.image.parse(c.image)
	ref.repository == "acme/forbidden-%d"
}

warn contains sprintf("label x-%d missing on %%s", [input.request.name]) if {
	not input.object.metadata.labels["x-%d"]
	input.parameters.strict
}
`, i, i, i, i, i)}
	}
	e, err := policy.New(b.Context(), files)
	if err != nil {
		b.Fatal(err)
	}
	return e
}
