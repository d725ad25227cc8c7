package workload

import (
	"k8s.io/apimachinery/pkg/api/equality"
)

// phase names the moment of a workload's life a quota question is about;
// it picks the wording of the answer.
type phase int

const (
	// phaseCreate: all replicas start from nothing.
	phaseCreate phase = iota
	// phaseScale: replicas grow; the new ones start.
	phaseScale
	// phaseSurge: a rollout starts its surge Pods while every old Pod runs.
	phaseSurge
	// phaseRollout: the rollout is done, the old replicas are gone.
	phaseRollout
	// phasePerNode: one Pod per node, node count unknown.
	phasePerNode
)

// ask is one quota question: do copies Pods of the new template fit, once
// freed Pods of the old template are gone?
type ask struct {
	phase  phase
	copies int
	freed  int
	from   int // replicas before, for phaseScale
}

// plan is what one request needs checked.
type plan struct {
	// template: limits and policies run on the template's Pod.
	template bool
	asks     []ask
}

// planFor compares the new object with the old one (nil on CREATE) and
// decides what to check, so that updates which start no Pod (labels,
// annotations, paused, a scale-down) say nothing:
//
//   - CREATE: the template, and all replicas against quota (one Pod for a
//     DaemonSet, whose node count is not known here).
//   - replicas only grew: the new replicas against quota; the template was
//     checked when it was written.
//   - the template changed: the whole template again, and the Pods the
//     change starts: a Deployment's surge on top of the running Pods, then
//     every replica once the old ones are gone (StatefulSets replace Pods
//     one by one, so only the end state); ReplicaSets and
//     ReplicationControllers do not replace running Pods, so only growth;
//     a Job's or CronJob's next Pods all start anew.
func planFor(w, old *Workload) plan {
	if old == nil {
		if w.PerNode() {
			return plan{template: true, asks: []ask{{phase: phasePerNode, copies: 1}}}
		}
		return plan{template: true, asks: []ask{{phase: phaseCreate, copies: w.Replicas}}}
	}
	grown := w.Replicas - old.Replicas
	if equality.Semantic.DeepEqual(w.Template, old.Template) {
		switch {
		case grown <= 0 || w.PerNode():
			return plan{}
		case w.Kind == KindCronJob:
			return plan{asks: []ask{{phase: phaseCreate, copies: w.Replicas}}}
		}
		return plan{asks: []ask{{phase: phaseScale, copies: grown, from: old.Replicas}}}
	}
	p := plan{template: true}
	switch {
	case w.PerNode():
		p.asks = []ask{{phase: phasePerNode, copies: 1, freed: 1}}
	case w.Batch():
		p.asks = []ask{{phase: phaseCreate, copies: w.Replicas}}
	case w.Kind == KindDeployment && !w.Recreate && w.Surge > 0:
		p.asks = []ask{
			{phase: phaseSurge, copies: w.Surge + max(grown, 0)},
			{phase: phaseRollout, copies: w.Replicas, freed: old.Replicas},
		}
	case w.Kind == KindDeployment || w.Kind == KindStatefulSet:
		p.asks = []ask{{phase: phaseRollout, copies: w.Replicas, freed: old.Replicas}}
	case grown > 0:
		p.asks = []ask{{phase: phaseScale, copies: grown, from: old.Replicas}}
	}
	return p
}
