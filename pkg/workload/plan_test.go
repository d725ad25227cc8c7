package workload

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanFor(t *testing.T) {
	base := func(opts ...deployOption) func(t *testing.T) *Workload {
		return func(t *testing.T) *Workload { return deployment(t, opts...) }
	}
	tests := map[string]struct {
		new, old func(t *testing.T) *Workload
		want     plan
	}{
		"create: template and all replicas": {
			new:  base(replicasOf(3)),
			want: plan{template: true, asks: []ask{{phase: phaseCreate, copies: 3}}},
		},
		"metadata-only change: nothing": {
			new: func(t *testing.T) *Workload {
				w := deployment(t, replicasOf(3))
				w.Name = "renamed-is-ignored-too"
				return w
			},
			old:  base(replicasOf(3)),
			want: plan{},
		},
		"scale down: nothing": {
			new:  base(replicasOf(1)),
			old:  base(replicasOf(3)),
			want: plan{},
		},
		"scale up: only the new replicas": {
			new:  base(replicasOf(5)),
			old:  base(replicasOf(3)),
			want: plan{asks: []ask{{phase: phaseScale, copies: 2, from: 3}}},
		},
		"template change: surge on top, then the end state": {
			new:  base(replicasOf(4), surgeOf("50%", "0"), template(withImage("new"))),
			old:  base(replicasOf(4), surgeOf("50%", "0")),
			want: plan{template: true, asks: []ask{{phase: phaseSurge, copies: 2}, {phase: phaseRollout, copies: 4, freed: 4}}},
		},
		"template change and scale up: the surge includes the growth": {
			new:  base(replicasOf(6), surgeOf("1", "0"), template(withImage("new"))),
			old:  base(replicasOf(4), surgeOf("1", "0")),
			want: plan{template: true, asks: []ask{{phase: phaseSurge, copies: 3}, {phase: phaseRollout, copies: 6, freed: 4}}},
		},
		"restart annotation is a template change": {
			new:  base(replicasOf(2), template(withCPU("1"), withAnnotation("kubectl.kubernetes.io/restartedAt", "now"))),
			old:  base(replicasOf(2)),
			want: plan{template: true, asks: []ask{{phase: phaseSurge, copies: 1}, {phase: phaseRollout, copies: 2, freed: 2}}},
		},
		"recreate: end state only": {
			new:  base(replicasOf(2), recreate(), template(withCPU("2"))),
			old:  base(replicasOf(2), recreate()),
			want: plan{template: true, asks: []ask{{phase: phaseRollout, copies: 2, freed: 2}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var old *Workload
			if tc.old != nil {
				old = tc.old(t)
			}
			got := planFor(tc.new(t), old)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(plan{}, ask{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanForOtherKinds(t *testing.T) {
	w := func(kind string, replicas int, cpu string) *Workload {
		return &Workload{Kind: kind, Name: "x", Namespace: "team-a", Replicas: replicas, Template: ptr(podTemplate(withCPU(cpu))), TemplatePath: "spec.template"}
	}
	tests := map[string]struct {
		new, old *Workload
		want     plan
	}{
		"daemonset create: one Pod":               {new: w(KindDaemonSet, 1, "1"), want: plan{template: true, asks: []ask{{phase: phasePerNode, copies: 1}}}},
		"daemonset template change: one per node": {new: w(KindDaemonSet, 1, "2"), old: w(KindDaemonSet, 1, "1"), want: plan{template: true, asks: []ask{{phase: phasePerNode, copies: 1, freed: 1}}}},
		"statefulset template change: end state":  {new: w(KindStatefulSet, 3, "2"), old: w(KindStatefulSet, 3, "1"), want: plan{template: true, asks: []ask{{phase: phaseRollout, copies: 3, freed: 3}}}},
		"replicaset template change: no quota":    {new: w(KindReplicaSet, 3, "2"), old: w(KindReplicaSet, 3, "1"), want: plan{template: true}},
		"replicaset template change and growth":   {new: w(KindReplicaSet, 5, "2"), old: w(KindReplicaSet, 3, "1"), want: plan{template: true, asks: []ask{{phase: phaseScale, copies: 2, from: 3}}}},
		"job template change: all parallel Pods":  {new: w(KindJob, 2, "2"), old: w(KindJob, 2, "1"), want: plan{template: true, asks: []ask{{phase: phaseCreate, copies: 2}}}},
		"cronjob more parallelism: the next run":  {new: w(KindCronJob, 4, "1"), old: w(KindCronJob, 2, "1"), want: plan{asks: []ask{{phase: phaseCreate, copies: 4}}}},
		"cronjob less parallelism: nothing":       {new: w(KindCronJob, 1, "1"), old: w(KindCronJob, 2, "1"), want: plan{}},
		"replication controller scale up: growth": {new: w(KindReplicationController, 4, "1"), old: w(KindReplicationController, 1, "1"), want: plan{asks: []ask{{phase: phaseScale, copies: 3, from: 1}}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := planFor(tc.new, tc.old)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(plan{}, ask{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
