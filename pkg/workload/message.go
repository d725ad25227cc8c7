package workload

import (
	"fmt"
	"strings"

	"github.com/tollgate-dev/tollgate/pkg/quota"
)

// finding is one quota problem of a workload, before the mode decides
// whether it denies or warns.
type finding struct {
	code, path, message string
	resources           []string // the quota resources it is about
}

// describe words the answer to one quota question. Every message names the
// workload, the resource, what the Pods need in total and each, what the
// quota allows, and how many Pods that lets start, so the user can size
// either the workload or the quota without doing arithmetic.
func describe(w *Workload, a ask, res quota.Copies) []finding {
	var out []finding
	for _, b := range res.Blockers {
		out = append(out, finding{b.Code, w.TemplatePath, fmt.Sprintf("%s: none of its Pods will start: %s", w.Subject(), b.Message), b.Resources})
	}
	for _, s := range res.Short {
		need := quota.FormatQuantity(s.Resource, s.Need)
		each := ""
		if a.copies > 1 {
			each = fmt.Sprintf(" (%s each)", quota.FormatQuantity(s.Resource, s.Each))
		}
		free := quota.FormatQuantity(s.Resource, s.Free)
		var msg, path string
		switch a.phase {
		case phaseCreate:
			path = replicasPath(w)
			msg = fmt.Sprintf("%s needs %s %s across %s%s; quota %q allows %s more: %s",
				w.Subject(), s.Resource, need, count(a.copies, w), each, s.Quota, free, outcome(s.Fit, a.copies, w))
		case phaseScale:
			path = replicasPath(w)
			msg = fmt.Sprintf("scaling %s from %d to %d %s needs %s %s more for the %s%s; quota %q allows %s more: %s",
				w.Subject(), a.from, a.from+a.copies, plural(w, a.from+a.copies), s.Resource, need, count(a.copies, w, "new"), each, s.Quota, free, outcome(s.Fit, a.copies, w, "new"))
		case phaseSurge:
			path = w.TemplatePath
			msg = fmt.Sprintf("rolling out %s starts %s (maxSurge %s) while all old Pods still run, needing %s %s%s; quota %q allows %s more: %s",
				w.Subject(), pods(a.copies, "new"), w.SurgeSpec, s.Resource, need, each, s.Quota, free, surgeOutcome(s.Fit, a.copies, w))
		case phaseRollout:
			path = w.TemplatePath
			msg = fmt.Sprintf("once rolled out, %s needs %s %s across %s%s, counting its %d old Pods as gone; quota %q allows %s: %s",
				w.Subject(), s.Resource, need, count(a.copies, w, "new"), each, a.freed, s.Quota, free, outcome(s.Fit, a.copies, w, "new"))
		case phasePerNode:
			path = w.TemplatePath
			msg = fmt.Sprintf("%s needs %s %s for its Pod on each node; quota %q allows %s more: its Pod will fail to start on every node",
				w.Subject(), s.Resource, quota.FormatQuantity(s.Resource, s.Each), s.Quota, free)
		}
		out = append(out, finding{quota.CodeExceeded, path, msg, []string{string(s.Resource)}})
	}
	return out
}

// outcome says how many of n Pods start: "2 replicas fit, 1 will fail to start".
func outcome(fit, n int, w *Workload, adjective ...string) string {
	switch {
	case fit == 0 && n == 1:
		return fmt.Sprintf("the %s will fail to start", strings.TrimPrefix(count(1, w, adjective...), "1 "))
	case fit == 0:
		return fmt.Sprintf("none fits, all %d will fail to start", n)
	}
	verb := "fit"
	if fit == 1 {
		verb = "fits"
	}
	return fmt.Sprintf("%s %s, %d will fail to start", count(fit, w, adjective...), verb, n-fit)
}

// surgeOutcome says what a rollout does when its surge does not fit.
func surgeOutcome(fit, n int, w *Workload) string {
	switch {
	case fit > 0:
		return fmt.Sprintf("only %d of the %d surge Pods can start, so the rollout goes slower", fit, n)
	case w.Unavailable == 0:
		return "no new Pod can start and, with maxUnavailable 0, the rollout will stall"
	}
	return fmt.Sprintf("no new Pod can start until old ones stop (maxUnavailable %d), so the rollout runs below its replica count", w.Unavailable)
}

// replicasPath is the field that sets how many Pods run.
func replicasPath(w *Workload) string {
	switch w.Kind {
	case KindJob:
		return "spec.parallelism"
	case KindCronJob:
		return "spec.jobTemplate.spec.parallelism"
	}
	return "spec.replicas"
}

// count writes n with the workload's noun: "3 replicas", "1 new parallel Pod".
func count(n int, w *Workload, adjective ...string) string {
	s := fmt.Sprint(n)
	for _, a := range adjective {
		s += " " + a
	}
	return s + " " + plural(w, n)
}

// plural is the noun for the workload's Pods: replicas, or parallel Pods
// for Jobs and CronJobs.
func plural(w *Workload, n int) string {
	switch {
	case w.Batch() && n == 1:
		return "parallel Pod"
	case w.Batch():
		return "parallel Pods"
	case n == 1:
		return "replica"
	}
	return "replicas"
}

func pods(n int, adjective string) string {
	if n == 1 {
		return "1 " + adjective + " Pod"
	}
	return fmt.Sprintf("%d %s Pods", n, adjective)
}
