package harness

import (
	"slices"
	"testing"
	"time"
)

// Stop must take the whole process group down, including children the
// process forked, and Leftovers must then report nothing for it.
func TestStopKillsProcessGroup(t *testing.T) {
	// The shell ignores SIGTERM, so Stop has to escalate to SIGKILL; its
	// background child must go too.
	p, err := StartProcess("group", t.TempDir(), "/bin/sh", []string{"-c", "trap '' TERM; sleep 300 & wait"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(Leftovers(), p.PID) {
		t.Fatalf("running process %d not reported by Leftovers", p.PID)
	}
	p.Stop(500 * time.Millisecond)
	if done, _ := p.Exited(); !done {
		t.Fatal("Stop returned before the process exited")
	}
	if slices.Contains(Leftovers(), p.PID) {
		t.Errorf("process group %d still has a live member after Stop", p.PID)
	}
	if slices.ContainsFunc(Running(), func(q *Process) bool { return q == p }) {
		t.Error("stopped process still listed as running")
	}
}
