package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// TestCheckUpdate: only usage-changing updates are looked at, and quotas
// that matched the old Pod are charged the increase only.
func TestCheckUpdate(t *testing.T) {
	resizeQuota := rq("quota", hard("cpu", "1000m", "memory", "1000Mi", "pods", "5"), used("cpu", "500m", "memory", "500Mi", "pods", "1"))
	running := pod(withContainer("c", req("cpu", "500m", "memory", "500Mi"), lim("cpu", "500m", "memory", "500Mi")))
	tests := map[string]struct {
		old, new *corev1.Pod
		quotas   []corev1.ResourceQuota
		reasons  []verdict.Reason
		warnings []string
	}{
		"resize over quota charges the increase": {
			old:    running,
			new:    pod(withContainer("c", req("cpu", "500m", "memory", "1100Mi"), lim("cpu", "500m", "memory", "1100Mi"))),
			quotas: quotas(resizeQuota),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "quota" in namespace "team-a": memory: requested 600Mi, used 500Mi of 1000Mi (500Mi free)`)},
		},
		"resize within quota": {
			old:      running,
			new:      pod(withContainer("c", req("cpu", "990m", "memory", "500Mi"), lim("cpu", "990m", "memory", "500Mi"))),
			quotas:   quotas(resizeQuota),
			warnings: []string{`quota.near-limit: quota "quota": cpu will be 0.99 of 1 (99%) after this Pod`},
		},
		"resize down is never denied": {
			old:    running,
			new:    pod(withContainer("c", req("cpu", "300m", "memory", "500Mi"), lim("cpu", "300m", "memory", "500Mi"))),
			quotas: quotas(rq("quota", hard("cpu", "1", "memory", "1000Mi", "pods", "1"), used("cpu", "2", "memory", "2000Mi", "pods", "2"))),
		},
		"label update on a full quota": {
			old:    running,
			new:    pod(withLabel("tier", "web"), withContainer("c", req("cpu", "500m", "memory", "500Mi"), lim("cpu", "500m", "memory", "500Mi"))),
			quotas: quotas(rq("quota", hard("cpu", "1", "pods", "1"), used("cpu", "1", "pods", "1"))),
		},
		"label update with containers lacking limits": {
			old:    pod(withContainer("c")),
			new:    pod(withLabel("tier", "web"), withContainer("c")),
			quotas: quotas(rq("quota", hard("limits.cpu", "1"), used("limits.cpu", "0"))),
		},
		"deadline moves the pod into a Terminating quota": {
			old: pod(withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			new: pod(withDeadline(60), withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			quotas: quotas(
				rq("term", scopes(corev1.ResourceQuotaScopeTerminating), hard("pods", "1", "requests.cpu", "1"), used("pods", "1", "requests.cpu", "0")),
				rq("nonterm", scopes(corev1.ResourceQuotaScopeNotTerminating), hard("pods", "5"), used("pods", "1"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "term" in namespace "team-a": pods: requested 1, used 1 of 1 (0 free)`)},
		},
		"terminal pod gets a deadline": {
			old:    pod(withPhase(corev1.PodSucceeded), withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			new:    pod(withPhase(corev1.PodSucceeded), withDeadline(60), withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			quotas: quotas(rq("term", scopes(corev1.ResourceQuotaScopeTerminating), hard("pods", "1", "requests.cpu", "1"), used("pods", "1", "requests.cpu", "1"))),
		},
		"old pod without resourceVersion is charged in full": {
			old:    func() *corev1.Pod { p := running.DeepCopy(); p.ResourceVersion = ""; return p }(),
			new:    pod(withContainer("c", req("cpu", "600m", "memory", "500Mi"), lim("cpu", "600m", "memory", "500Mi"))),
			quotas: quotas(resizeQuota),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "quota" in namespace "team-a": cpu: requested 0.6, used 0.5 of 1 (0.5 free)`)},
		},
		"resize re-checks must specify": {
			old:    pod(withContainer("a", req("cpu", "1")), withContainer("b")),
			new:    pod(withContainer("a", req("cpu", "2")), withContainer("b")),
			quotas: quotas(rq("q", hard("requests.cpu", "10"), used("requests.cpu", "1"))),
			reasons: []verdict.Reason{deny(CodeMustSpecify, "spec",
				"failed quota: q: must specify requests.cpu for: b")},
		},
		"missing old pod is not checked": {
			new:    pod(withContainer("c", req("cpu", "5"))),
			quotas: quotas(rq("q", hard("requests.cpu", "1"), used("requests.cpu", "1"))),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Check(Input{Operation: "UPDATE", Pod: tc.new, OldPod: tc.old, Quotas: tc.quotas})
			want := verdict.Verdict{Reasons: tc.reasons, Warnings: texts(tc.warnings...)}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), messagesOnly); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResizeUsesStatus: with the actuated resources in status, a resize
// down charges nothing and a resize up charges only past the larger of
// spec and status.
func TestResizeUsesStatus(t *testing.T) {
	withActual := func(cpu string) podOpt {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c",
				Resources: &corev1.ResourceRequirements{Requests: list("cpu", cpu), Limits: list("cpu", cpu)}}}
		}
	}
	old := pod(withContainer("c", req("cpu", "1"), lim("cpu", "1")), withActual("1"))
	q := quotas(rq("q", hard("requests.cpu", "2"), used("requests.cpu", "1500m")))
	tests := map[string]struct {
		new     *corev1.Pod
		allowed bool
	}{
		"up within":  {pod(withContainer("c", req("cpu", "1500m"), lim("cpu", "1500m")), withActual("1")), true},
		"up past":    {pod(withContainer("c", req("cpu", "1600m"), lim("cpu", "1600m")), withActual("1")), false},
		"down":       {pod(withContainer("c", req("cpu", "100m"), lim("cpu", "100m")), withActual("1")), true},
		"status max": {pod(withContainer("c", req("cpu", "1"), lim("cpu", "1")), withActual("3")), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Check(Input{Operation: "UPDATE", Pod: tc.new, OldPod: old, Quotas: q})
			if got.Allowed() != tc.allowed {
				t.Errorf("allowed = %v, want %v (%v)", got.Allowed(), tc.allowed, got.Reasons)
			}
		})
	}
}
