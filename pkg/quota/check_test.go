package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

func deny(code, path, msg string) verdict.Reason {
	return verdict.Reason{Code: code, Path: path, Message: msg}
}

// TestCheckCreate asserts word for word what a user sees for a Pod CREATE.
func TestCheckCreate(t *testing.T) {
	computeQuota := rq("compute", hard("requests.cpu", "8", "limits.memory", "16Gi"), used("requests.cpu", "7500m", "limits.memory", "14Gi"))
	tests := map[string]struct {
		pod      *corev1.Pod
		quotas   []corev1.ResourceQuota
		opts     Options
		reasons  []verdict.Reason
		warnings []string
	}{
		"below the limit": {
			pod:    pod(withContainer("c", req("cpu", "100m", "memory", "2Gi"))),
			quotas: quotas(rq("quota", hard("cpu", "3", "memory", "100Gi", "pods", "5"), used("cpu", "1", "memory", "50Gi", "pods", "3"))),
		},
		"exceeds cpu": {
			pod:    pod(withContainer("c", req("cpu", "3", "memory", "2Gi"))),
			quotas: quotas(rq("quota", hard("cpu", "3", "memory", "100Gi", "pods", "5"), used("cpu", "1", "memory", "50Gi", "pods", "3"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "quota" in namespace "team-a": cpu: requested 3, used 1 of 3 (2 free)`)},
		},
		"two resources of one quota": {
			pod:    pod(withContainer("c", req("cpu", "2", "memory", "4Gi"), lim("cpu", "2", "memory", "4Gi"))),
			quotas: quotas(computeQuota),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "compute" in namespace "team-a": limits.memory: requested 4Gi, used 14Gi of 16Gi (2Gi free); requests.cpu: requested 2, used 7.5 of 8 (0.5 free)`)},
		},
		"near the limit warns": {
			pod:      pod(withContainer("c", req("cpu", "100m", "memory", "1Gi"), lim("cpu", "100m", "memory", "1Gi"))),
			quotas:   quotas(computeQuota),
			warnings: []string{`quota.near-limit: quota "compute": limits.memory will be 15Gi of 16Gi (93%) after this Pod`, `quota.near-limit: quota "compute": requests.cpu will be 7.6 of 8 (95%) after this Pod`},
		},
		"threshold from options": {
			pod:      pod(withContainer("c", req("cpu", "100m", "memory", "1Gi"), lim("cpu", "100m", "memory", "1Gi"))),
			quotas:   quotas(computeQuota),
			opts:     Options{WarnThreshold: 94},
			warnings: []string{`quota.near-limit: quota "compute": requests.cpu will be 7.6 of 8 (95%) after this Pod`},
		},
		"exactly full is allowed and warns at 100%": {
			pod:      pod(withContainer("c", req("cpu", "500m", "memory", "1Gi"), lim("cpu", "500m", "memory", "1Gi"))),
			quotas:   quotas(computeQuota),
			opts:     Options{WarnThreshold: 100},
			warnings: []string{`quota.near-limit: quota "compute": requests.cpu will be 8 of 8 (100%) after this Pod`},
		},
		"must specify limits": {
			pod:    pod(withContainer("app", req("cpu", "100m", "memory", "2Gi"), lim("cpu", "200m"))),
			quotas: quotas(rq("quota", hard("cpu", "3", "memory", "100Gi", "limits.memory", "200Gi", "pods", "5"), used("cpu", "1", "memory", "50Gi", "limits.memory", "100Gi", "pods", "3"))),
			reasons: []verdict.Reason{deny(CodeMustSpecify, "spec",
				"failed quota: quota: must specify limits.memory for: app")},
		},
		"must specify lists init containers": {
			pod:    pod(withContainer("app", req("cpu", "1")), withInit("init")),
			quotas: quotas(rq("compute", hard("requests.cpu", "10", "limits.cpu", "10", "limits.memory", "10Gi"), used("requests.cpu", "0", "limits.cpu", "0", "limits.memory", "0"))),
			reasons: []verdict.Reason{deny(CodeMustSpecify, "spec",
				"failed quota: compute: must specify limits.cpu for: app,init; limits.memory for: app,init; requests.cpu for: init")},
		},
		"must specify checks sidecars": {
			pod:    pod(withContainer("app", req("cpu", "100m", "memory", "100Mi"), lim("cpu", "100m", "memory", "100Mi")), withSidecar("proxy", req("cpu", "100m"), lim("cpu", "100m"))),
			quotas: quotas(rq("q", hard("requests.memory", "1Gi"), used("requests.memory", "0"))),
			reasons: []verdict.Reason{deny(CodeMustSpecify, "spec",
				"failed quota: q: must specify requests.memory for: proxy")},
		},
		"overhead does not satisfy must specify": {
			pod:    pod(withOverhead("cpu", "1", "memory", "1Gi"), withContainer("c", req("cpu", "1"), lim("cpu", "2"))),
			quotas: quotas(rq("q", hard("requests.cpu", "4", "limits.cpu", "4", "requests.memory", "4Gi", "limits.memory", "4Gi"), used("requests.cpu", "0", "limits.cpu", "0", "requests.memory", "0", "limits.memory", "0"))),
			reasons: []verdict.Reason{deny(CodeMustSpecify, "spec",
				"failed quota: q: must specify limits.memory for: c; requests.memory for: c")},
		},
		"overhead is charged": {
			pod:    pod(withOverhead("cpu", "250m"), withContainer("c", req("cpu", "1"), lim("cpu", "1"))),
			quotas: quotas(rq("q", hard("requests.cpu", "1"), used("requests.cpu", "0"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": requests.cpu: requested 1.25, used 0 of 1 (1 free)`)},
		},
		"pod-level resources skip must specify": {
			pod:      pod(withPodResources(list("cpu", "1", "memory", "1Gi"), list("cpu", "2", "memory", "2Gi")), withContainer("a"), withContainer("b")),
			quotas:   quotas(rq("q", hard("requests.cpu", "4", "limits.cpu", "4", "requests.memory", "8Gi", "limits.memory", "8Gi"), used("requests.cpu", "3", "limits.cpu", "1", "requests.memory", "0", "limits.memory", "0"))),
			warnings: []string{`quota.near-limit: quota "q": requests.cpu will be 4 of 4 (100%) after this Pod`},
		},
		"status unknown": {
			pod:    pod(withContainer("c", req("cpu", "1"))),
			quotas: quotas(rq("quota", hard("requests.cpu", "4", "pods", "10"), used("pods", "1"))),
			reasons: []verdict.Reason{deny(CodeStatusUnknown, "",
				"status unknown for quota: quota, resources: pods,requests.cpu")},
		},
		"empty status enforces nothing": {
			pod:    pod(withContainer("c", req("cpu", "1"))),
			quotas: quotas(corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "0")}}),
		},
		"every failing quota is reported": {
			pod: pod(withContainer("c", req("cpu", "1"))),
			quotas: quotas(rq("b", hard("pods", "2"), used("pods", "2")), rq("a", hard("requests.cpu", "10"), used("requests.cpu", "1")),
				rq("c", hard("cpu", "1"), used("cpu", "1"))),
			reasons: []verdict.Reason{
				deny(CodeExceeded, "", `exceeded quota "b" in namespace "team-a": pods: requested 1, used 2 of 2 (0 free)`),
				deny(CodeExceeded, "", `exceeded quota "c" in namespace "team-a": cpu: requested 1, used 1 of 1 (0 free)`),
			},
		},
		"zero request is not charged": {
			pod:    pod(withContainer("c", req("cpu", "0"))),
			quotas: quotas(rq("q", hard("requests.cpu", "1"), used("requests.cpu", "1"))),
		},
		"unrelated resource over its limit": {
			pod:      pod(withContainer("c")),
			quotas:   quotas(rq("q", hard("services", "3", "pods", "4"), used("services", "4", "pods", "1"))),
			warnings: nil,
		},
		"count/pods": {
			pod:    pod(withContainer("c")),
			quotas: quotas(rq("q", hard("count/pods", "2"), used("count/pods", "2"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": count/pods: requested 1, used 2 of 2 (0 free)`)},
		},
		"extended resource": {
			pod:    pod(withContainer("c", req("nvidia.com/gpu", "2"), lim("nvidia.com/gpu", "2"))),
			quotas: quotas(rq("gpu-quota", hard("requests.nvidia.com/gpu", "2"), used("requests.nvidia.com/gpu", "1"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "gpu-quota" in namespace "team-a": requests.nvidia.com/gpu: requested 2, used 1 of 2 (1 free)`)},
		},
		"bare extended name matches nothing": {
			pod:    pod(withContainer("c", req("nvidia.com/gpu", "2"), lim("nvidia.com/gpu", "2"))),
			quotas: quotas(rq("gpu-quota", hard("nvidia.com/gpu", "1", "limits.nvidia.com/gpu", "1"), used("nvidia.com/gpu", "1", "limits.nvidia.com/gpu", "1"))),
		},
		"hugepages": {
			pod:    pod(withContainer("c", req("memory", "1Gi", "hugepages-2Mi", "100Mi"), lim("memory", "1Gi", "hugepages-2Mi", "100Mi"))),
			quotas: quotas(rq("q", hard("requests.hugepages-2Mi", "128Mi"), used("requests.hugepages-2Mi", "64Mi"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": requests.hugepages-2Mi: requested 100Mi, used 64Mi of 128Mi (64Mi free)`)},
		},
		"only the failing key is listed": {
			pod:    pod(withContainer("c", req("ephemeral-storage", "1Gi"), lim("ephemeral-storage", "2Gi"))),
			quotas: quotas(rq("q", hard("requests.ephemeral-storage", "10Gi", "limits.ephemeral-storage", "3Gi"), used("requests.ephemeral-storage", "1Gi", "limits.ephemeral-storage", "2Gi"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": limits.ephemeral-storage: requested 2Gi, used 2Gi of 3Gi (1Gi free)`)},
		},
		"no must specify for ephemeral storage": {
			pod:    pod(withContainer("c")),
			quotas: quotas(rq("q", hard("requests.ephemeral-storage", "10Gi"), used("requests.ephemeral-storage", "1Gi"))),
		},
		"NotIn matches a classless pod": {
			pod:    pod(withContainer("c")),
			quotas: quotas(rq("q", selector(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpNotIn, "high"), hard("pods", "1"), used("pods", "1"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": pods: requested 1, used 1 of 1 (0 free)`)},
		},
		"out of scope quota is ignored": {
			pod:    pod(withContainer("c", req("cpu", "1"))),
			quotas: quotas(rq("be", scopes(corev1.ResourceQuotaScopeBestEffort), hard("pods", "1"), used("pods", "1"))),
		},
		"quota of another namespace is ignored": {
			pod:    pod(withContainer("c")),
			quotas: quotas(rq("q", inNamespace("team-b"), hard("pods", "1"), used("pods", "1"))),
		},
		"already over hard shows no free": {
			pod:    pod(withContainer("c", req("cpu", "1"))),
			quotas: quotas(rq("q", hard("requests.cpu", "2"), used("requests.cpu", "2500m"))),
			reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "q" in namespace "team-a": requests.cpu: requested 1, used 2.5 of 2 (0 free)`)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Check(Input{Operation: "CREATE", Pod: tc.pod, Quotas: tc.quotas, Options: tc.opts})
			want := verdict.Verdict{Reasons: tc.reasons, Warnings: texts(tc.warnings...)}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), messagesOnly); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestModes: deny denies, warn turns every denial into a coded warning and
// never denies, off says nothing.
func TestModes(t *testing.T) {
	p := pod(withContainer("app", req("cpu", "2")))
	qs := quotas(
		rq("compute", hard("requests.cpu", "8"), used("requests.cpu", "7")),
		rq("limits", hard("limits.cpu", "8"), used("limits.cpu", "0")),
		rq("pods", hard("pods", "10"), used("pods", "9")),
	)
	exceeded := `exceeded quota "compute" in namespace "team-a": requests.cpu: requested 2, used 7 of 8 (1 free)`
	mustSpecify := "failed quota: limits: must specify limits.cpu for: app"
	near := `quota.near-limit: quota "pods": pods will be 10 of 10 (100%) after this Pod`
	tests := map[string]struct {
		mode Mode
		want verdict.Verdict
	}{
		"default is deny": {"", verdict.Verdict{Reasons: []verdict.Reason{deny(CodeExceeded, "", exceeded), deny(CodeMustSpecify, "spec", mustSpecify)}}},
		"deny":            {ModeDeny, verdict.Verdict{Reasons: []verdict.Reason{deny(CodeExceeded, "", exceeded), deny(CodeMustSpecify, "spec", mustSpecify)}}},
		"warn": {ModeWarn, verdict.Verdict{Warnings: []verdict.Warning{
			{Code: CodeExceeded, Resources: []string{"requests.cpu"}, Message: "quota.exceeded: " + exceeded},
			{Code: CodeMustSpecify, Resources: []string{"limits.cpu"}, Message: "quota.must-specify: " + mustSpecify},
			{Code: CodeNearLimit, Resources: []string{"pods"}, Message: near},
		}}},
		"off": {ModeOff, verdict.Verdict{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Check(Input{Operation: "CREATE", Pod: p, Quotas: qs, Options: Options{Mode: tc.mode}})
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), ignoreReasonResources); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDryRunIsChecked: a dry run is predicted like a real request.
func TestDryRunIsChecked(t *testing.T) {
	got := Check(Input{Operation: "CREATE", DryRun: true, Pod: pod(withContainer("c", req("memory", "60Gi"))),
		Quotas: quotas(rq("quota", hard("memory", "100Gi"), used("memory", "50Gi")))})
	want := []verdict.Reason{deny(CodeExceeded, "", `exceeded quota "quota" in namespace "team-a": memory: requested 60Gi, used 50Gi of 100Gi (50Gi free)`)}
	if diff := cmp.Diff(want, got.Reasons, messagesOnly); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}

// TestNilPodAndUnknownOperation never deny.
func TestNilPodAndUnknownOperation(t *testing.T) {
	full := quotas(rq("q", hard("pods", "0"), used("pods", "0")))
	for name, in := range map[string]Input{
		"nil pod":   {Operation: "CREATE", Quotas: full},
		"delete":    {Operation: "DELETE", Pod: pod(), Quotas: full},
		"connect":   {Operation: "CONNECT", Pod: pod(), Quotas: full},
		"no quotas": {Operation: "CREATE", Pod: pod()},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Check(in); !got.Allowed() || len(got.Warnings) > 0 {
				t.Errorf("Check = %+v, want empty", got)
			}
		})
	}
}
