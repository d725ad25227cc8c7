package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// pendingWarning is the quota.pending-charges warning for quota "compute"
// in team-a with the given per-resource part.
func pendingWarning(parts string) string {
	return `quota.pending-charges: quota "compute" in namespace "team-a": ` + parts +
		`; the Pod fits status.used but not status.used plus the charges still pending from Pods admitted moments ago,` +
		` so Tollgate admits it and the in-tree ResourceQuota decides`
}

func hasPendingWarning(v verdict.Verdict) bool {
	for _, w := range v.Warnings {
		if w.Code == CodePendingCharges {
			return true
		}
	}
	return false
}

// withUIDs sets the Pod's metadata.uid and the request's uid.
func withUIDs(in Input, podUID, requestUID string) Input {
	in.Pod = in.Pod.DeepCopy()
	in.Pod.UID = types.UID(podUID)
	in.RequestUID = requestUID
	return in
}

// TestLedgerPendingOnlyWarns: an earlier Pod is charged, then a second one
// is checked. Pending charges alone never deny; status.used alone still does.
func TestLedgerPendingOnlyWarns(t *testing.T) {
	compute := rq("compute", hard("requests.cpu", "4", "requests.memory", "4Gi"), used("requests.cpu", "1", "requests.memory", "1Gi"))
	both := func(cpu, mem string) *corev1.Pod { return pod(withContainer("c", req("cpu", cpu, "memory", mem))) }
	tests := map[string]struct {
		earlier, pod *corev1.Pod
		quotas       []corev1.ResourceQuota
		mode         Mode
		want         verdict.Verdict
	}{
		"fits status and pending: silent": {
			earlier: both("1", "1Gi"), pod: both("500m", "512Mi"), quotas: quotas(compute),
		},
		"fits status, not pending: admitted with a warning": {
			earlier: both("2", "1Gi"), pod: both("2", "1Gi"), quotas: quotas(compute),
			want: verdict.Verdict{Warnings: texts(pendingWarning(`requests.cpu: requested 2, used 1 of 4 in quota status (3 free), plus 2 pending`))},
		},
		"same warning in warn mode": {
			earlier: both("2", "1Gi"), pod: both("2", "1Gi"), quotas: quotas(compute), mode: ModeWarn,
			want: verdict.Verdict{Warnings: texts(pendingWarning(`requests.cpu: requested 2, used 1 of 4 in quota status (3 free), plus 2 pending`))},
		},
		"every resource past pending is listed": {
			earlier: both("2", "2Gi"), pod: both("2", "2Gi"), quotas: quotas(compute),
			want: verdict.Verdict{Warnings: []verdict.Warning{{Code: CodePendingCharges, Resources: []string{"requests.cpu", "requests.memory"},
				Message: pendingWarning(`requests.cpu: requested 2, used 1 of 4 in quota status (3 free), plus 2 pending; ` +
					`requests.memory: requested 2Gi, used 1Gi of 4Gi in quota status (3Gi free), plus 2Gi pending`)}}},
		},
		"over status.used alone: denied, pending not counted": {
			earlier: both("1", "1Gi"), pod: both("3500m", "1Gi"), quotas: quotas(compute),
			want: verdict.Verdict{Reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "compute" in namespace "team-a": requests.cpu: requested 3.5, used 1 of 4 (3 free)`)}},
		},
		"another quota denies: no pending warning on a refused Pod": {
			earlier: both("2", "1Gi"), pod: both("2", "1Gi"),
			quotas: quotas(compute, rq("pods", hard("pods", "2"), used("pods", "2"))),
			want: verdict.Verdict{Reasons: []verdict.Reason{deny(CodeExceeded, "",
				`exceeded quota "pods" in namespace "team-a": pods: requested 1, used 2 of 2 (0 free)`)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLedger(newFakeClock().now)
			first := Input{Operation: "CREATE", Pod: tc.earlier, Quotas: quotas(compute), Options: Options{Mode: tc.mode}}
			if v := l.Check(withUIDs(first, "uid-earlier", "req-earlier")); !v.Allowed() || len(v.Warnings) != 0 {
				t.Fatalf("earlier Pod: %+v, want a silent admission", v)
			}
			in := Input{Operation: "CREATE", Pod: tc.pod, Quotas: tc.quotas, Options: Options{Mode: tc.mode}}
			got := l.Check(withUIDs(in, "uid-second", "req-second"))
			if diff := cmp.Diff(tc.want, got, messagesOnly); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLedgerChargesOncePerUID: a review sent twice for one Pod charges once
// and gets the same answer; distinct Pods are charged each.
func TestLedgerChargesOncePerUID(t *testing.T) {
	q := rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "0"))
	base := create(cpuPod("3"), q)
	dryRun := withUIDs(base, "uid-a", "req-1")
	dryRun.DryRun = true
	tests := map[string]struct {
		first, second Input
		wantPending   string
		wantWarned    bool // the second review gets quota.pending-charges
	}{
		"same Pod UID":                           {withUIDs(base, "uid-a", "req-1"), withUIDs(base, "uid-a", "req-1"), "requests.cpu=3", false},
		"same Pod UID, retried request":          {withUIDs(base, "uid-a", "req-1"), withUIDs(base, "uid-a", "req-2"), "requests.cpu=3", false},
		"no Pod UID, same request UID":           {withUIDs(base, "", "req-1"), withUIDs(base, "", "req-1"), "requests.cpu=3", false},
		"different Pod UIDs":                     {withUIDs(base, "uid-a", "req-1"), withUIDs(base, "uid-b", "req-2"), "requests.cpu=6", true},
		"different request UIDs, no Pod":         {withUIDs(base, "", "req-1"), withUIDs(base, "", "req-2"), "requests.cpu=6", true},
		"no UID at all: never merged":            {withUIDs(base, "", ""), withUIDs(base, "", ""), "requests.cpu=6", true},
		"dry run first, then the create":         {dryRun, withUIDs(base, "uid-a", "req-2"), "requests.cpu=3", false},
		"request UID of one, Pod UID of another": {withUIDs(base, "", "uid-a"), withUIDs(base, "uid-a", "req-2"), "requests.cpu=6", true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLedger(newFakeClock().now)
			l.Check(tc.first)
			second := l.Check(tc.second)
			if !second.Allowed() {
				t.Fatalf("second review denied: %+v", second.Reasons)
			}
			if got := hasPendingWarning(second); got != tc.wantWarned {
				t.Errorf("second review warned = %v, want %v: %q", got, tc.wantWarned, second.Warnings)
			}
			if got := show(l.Pending("team-a")["compute"]); got != tc.wantPending {
				t.Errorf("pending = %s, want %s", got, tc.wantPending)
			}
		})
	}
}

// TestLedgerReleaseByKey: Release forgets exactly the charges of the
// request's key; other Pods keep theirs, and a released Pod that is tried
// again is charged again.
func TestLedgerReleaseByKey(t *testing.T) {
	q := rq("compute", hard("requests.cpu", "8"), used("requests.cpu", "0"))
	a, b := create(cpuPod("1"), q), create(cpuPod("2"), q)
	tests := map[string]struct {
		charged     []Input
		release     Input
		retry       *Input
		wantPending string
	}{
		"by Pod UID": {
			charged: []Input{withUIDs(a, "uid-a", "req-1"), withUIDs(b, "uid-b", "req-2")},
			release: withUIDs(a, "uid-a", "req-1"), wantPending: "requests.cpu=2",
		},
		"by Pod UID, other request UID": {
			charged: []Input{withUIDs(a, "uid-a", "req-1"), withUIDs(b, "uid-b", "req-2")},
			release: withUIDs(a, "uid-a", "req-9"), wantPending: "requests.cpu=2",
		},
		"by request UID": {
			charged: []Input{withUIDs(a, "", "req-1"), withUIDs(b, "", "req-2")},
			release: withUIDs(a, "", "req-1"), wantPending: "requests.cpu=2",
		},
		"no UID: nothing released": {
			charged: []Input{withUIDs(a, "", ""), withUIDs(b, "", "")},
			release: withUIDs(a, "", ""), wantPending: "requests.cpu=3",
		},
		"unknown UID: nothing released": {
			charged: []Input{withUIDs(a, "uid-a", "req-1")},
			release: withUIDs(a, "uid-z", "req-9"), wantPending: "requests.cpu=1",
		},
		"released then retried: charged again": {
			charged: []Input{withUIDs(a, "uid-a", "req-1"), withUIDs(b, "uid-b", "req-2")},
			release: withUIDs(a, "uid-a", "req-1"), retry: ptr(withUIDs(a, "uid-a", "req-3")), wantPending: "requests.cpu=3",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLedger(newFakeClock().now)
			for _, in := range tc.charged {
				l.Check(in)
			}
			l.Release(tc.release)
			if tc.retry != nil {
				l.Check(*tc.retry)
			}
			if got := show(l.Pending("team-a")["compute"]); got != tc.wantPending {
				t.Errorf("pending = %s, want %s", got, tc.wantPending)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
