package quota

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) step(d time.Duration) { c.ns.Add(int64(d)) }
func cpuPod(cpu string) *corev1.Pod       { return pod(withContainer("c", req("cpu", cpu))) }
func create(p *corev1.Pod, qs ...corev1.ResourceQuota) Input {
	return Input{Operation: "CREATE", Pod: p, Quotas: qs}
}

// TestLedgerSequence walks one quota through a burst, a status catch-up
// and an expiry. The Pods carry no UID, so none is taken for a retry.
func TestLedgerSequence(t *testing.T) {
	clock := newFakeClock()
	l := NewLedger(clock.now)
	stale := rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "1"))
	type step struct {
		name    string
		advance time.Duration
		in      Input
		want    verdict.Verdict
	}
	steps := []step{
		{name: "first fits", in: create(cpuPod("1"), stale)},
		{name: "second fits with the first pending", in: create(cpuPod("1"), stale),
			want: verdict.Verdict{Warnings: texts(`quota.near-limit: quota "compute": requests.cpu will be 3 of 4 (75%) after this Pod`)}},
		{name: "dry run is checked, not recorded", in: Input{Operation: "CREATE", DryRun: true, Pod: cpuPod("1"), Quotas: quotas(stale)},
			want: verdict.Verdict{Warnings: texts(`quota.near-limit: quota "compute": requests.cpu will be 4 of 4 (100%) after this Pod`)}},
		{name: "third fits status but not pending: warned, admitted, charged", in: create(cpuPod("1500m"), stale),
			want: verdict.Verdict{Warnings: texts(pendingWarning(`requests.cpu: requested 1.5, used 1 of 4 in quota status (3 free), plus 2 pending`))}},
		{name: "fourth sees the third's charge too", in: create(cpuPod("1"), stale),
			want: verdict.Verdict{Warnings: texts(pendingWarning(`requests.cpu: requested 1, used 1 of 4 in quota status (3 free), plus 3.5 pending`))}},
		{name: "status caught up: pending dropped", in: create(cpuPod("1"), rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "2"))),
			want: verdict.Verdict{Warnings: texts(`quota.near-limit: quota "compute": requests.cpu will be 3 of 4 (75%) after this Pod`)}},
		{name: "expired after the TTL", advance: 31 * time.Second, in: create(cpuPod("2"), rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "2"))),
			want: verdict.Verdict{Warnings: texts(`quota.near-limit: quota "compute": requests.cpu will be 4 of 4 (100%) after this Pod`)}},
	}
	for i := range steps {
		steps[i].in.Options.WarnThreshold = 75
	}
	for _, s := range steps {
		clock.step(s.advance)
		got := l.Check(s.in)
		if diff := cmp.Diff(s.want, got, messagesOnly); diff != "" {
			t.Fatalf("step %q (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestLedgerRecordsOnlyAdmittedCreates: updates, dry runs, warn-mode
// overruns and mode off leave nothing pending.
func TestLedgerRecordsOnlyAdmittedCreates(t *testing.T) {
	q := rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "3"))
	tests := map[string]Input{
		"dry run":           {Operation: "CREATE", DryRun: true, Pod: cpuPod("1"), Quotas: quotas(q)},
		"update":            {Operation: "UPDATE", Pod: cpuPod("2"), OldPod: cpuPod("1"), Quotas: quotas(q)},
		"warn-mode overrun": {Operation: "CREATE", Pod: cpuPod("2"), Quotas: quotas(q), Options: Options{Mode: ModeWarn}},
		"mode off":          {Operation: "CREATE", Pod: cpuPod("1"), Quotas: quotas(q), Options: Options{Mode: ModeOff}},
		"other failing quota": {Operation: "CREATE", Pod: cpuPod("1"),
			Quotas: quotas(q, rq("pods", hard("pods", "1"), used("pods", "1")))},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLedger(newFakeClock().now)
			l.Check(in)
			if p := l.Pending("team-a"); len(p) != 0 {
				t.Errorf("pending = %v, want none", p)
			}
		})
	}
}

// TestNilLedger behaves like Check.
func TestNilLedger(t *testing.T) {
	var l *Ledger
	in := create(cpuPod("2"), rq("q", hard("requests.cpu", "1"), used("requests.cpu", "0")))
	if diff := cmp.Diff(Check(in), l.Check(in)); diff != "" {
		t.Errorf("nil ledger differs from Check (-want +got):\n%s", diff)
	}
	if l.Pending("team-a") != nil {
		t.Error("nil ledger has pending charges")
	}
}

// TestLedgerConcurrent: N goroutines admit against one quota whose status
// never changes; all are admitted, and exactly those that fit get no
// quota.pending-charges warning.
func TestLedgerConcurrent(t *testing.T) {
	tests := map[string]struct {
		goroutines int
		podCPU     string
		hardCPU    string
		usedCPU    string
		want       int
	}{
		"ten of fifty":         {50, "1", "10", "0", 10},
		"two of twenty":        {20, "100m", "2", "1800m", 2},
		"all fit":              {16, "250m", "8", "4", 16},
		"odd sizes":            {40, "300m", "10", "1", 30},
		"one slot, many tries": {64, "1", "5", "4", 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := NewLedger(newFakeClock().now)
			q := rq("compute", hard("requests.cpu", tc.hardCPU, "pods", "1000"), used("requests.cpu", tc.usedCPU, "pods", "0"))
			other := rq("compute", inNamespace("team-b"), hard("requests.cpu", "1"), used("requests.cpu", "0"))
			var clean atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < tc.goroutines; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					p := cpuPod(tc.podCPU)
					p.Name, p.UID = fmt.Sprintf("web-%d", i), types.UID(fmt.Sprintf("uid-%d", i))
					v := l.Check(create(p, q))
					if !v.Allowed() {
						t.Errorf("pod %d denied: the ledger must only warn: %+v", i, v.Reasons)
					}
					if !hasPendingWarning(v) {
						clean.Add(1)
					}
					// another namespace, in parallel, must not interfere
					o := cpuPod("100m")
					o.Namespace = "team-b"
					l.Check(create(o, other))
				}(i)
			}
			close(start)
			wg.Wait()
			if got := int(clean.Load()); got != tc.want {
				t.Errorf("%d of %d without a pending warning, want %d", got, tc.goroutines, tc.want)
			}
		})
	}
}

// TestLedgerSweep forgets namespaces once their charges expire.
func TestLedgerSweep(t *testing.T) {
	clock := newFakeClock()
	l := NewLedger(clock.now)
	q := rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "0"))
	l.Check(create(cpuPod("1"), q))
	clock.step(time.Minute)
	other := cpuPod("1")
	other.Namespace = "team-b"
	l.Check(create(other, rq("compute", inNamespace("team-b"), hard("requests.cpu", "4"), used("requests.cpu", "0"))))
	l.mu.Lock()
	_, stillThere := l.namespaces["team-a"]
	l.mu.Unlock()
	if stillThere {
		t.Error("expired namespace was not swept")
	}
	if got := l.Pending("team-b"); len(got) != 1 {
		t.Errorf("team-b pending = %v, want one quota", got)
	}
}

// TestLedgerRelease: a Pod denied later in the same webhook gives its
// charge back; other Pods keep theirs.
func TestLedgerRelease(t *testing.T) {
	l := NewLedger(newFakeClock().now)
	q := rq("compute", hard("requests.cpu", "4"), used("requests.cpu", "0"))
	a, b := cpuPod("1"), cpuPod("2")
	a.UID, b.UID = "uid-a", "uid-b"
	l.Check(create(a, q))
	l.Check(create(b, q))
	l.Release(create(a, q))
	if diff := cmp.Diff(show(list("requests.cpu", "2")), show(l.Pending("team-a")["compute"])); diff != "" {
		t.Errorf("pending after release (-want +got):\n%s", diff)
	}
	var nilLedger *Ledger
	nilLedger.Release(create(a, q)) // must not panic
}

// TestLedgerTTL: Options.LedgerTTL bounds how long a charge is kept.
func TestLedgerTTL(t *testing.T) {
	tests := map[string]struct {
		ttl     time.Duration
		advance time.Duration
		pending bool
	}{
		"default keeps 30s":    {0, 30 * time.Second, true},
		"default drops at 31s": {0, 31 * time.Second, false},
		"custom keeps":         {5 * time.Second, 4 * time.Second, true},
		"custom drops":         {5 * time.Second, 6 * time.Second, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			clock := newFakeClock()
			l := NewLedger(clock.now)
			q := rq("compute", hard("requests.cpu", "2"), used("requests.cpu", "0"))
			in := create(cpuPod("2"), q)
			in.Options.LedgerTTL = tc.ttl
			l.Check(in)
			clock.step(tc.advance)
			// a second identical Pod is warned about while the first charge is kept
			if got := hasPendingWarning(l.Check(in)); got != tc.pending {
				t.Errorf("second Pod warned about pending charges = %v, want %v", got, tc.pending)
			}
		})
	}
}
