//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// `go run ./test/demo --once` (what `make demo-once` runs) applies every
// example, finds each doing what its comment says, exits 0 and leaves no
// process and no bound port behind.
func TestDemoOnce(t *testing.T) {
	ctx := testCtx(t)
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./test/demo")
	build.Dir = harness.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "--once")
	// If this test process dies, the demo gets SIGTERM and cleans up itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := cmd.CombinedOutput()
	t.Logf("demo output:\n%s", out)
	if err != nil {
		t.Fatalf("demo --once failed: %v", err)
	}
	text := string(out)
	if strings.Contains(text, "NOT what the example's comment says") {
		t.Error("an example did not do what its comment says")
	}
	for _, want := range []string{"DENIED", "ALLOWED", "warning:", "KUBECONFIG=", "defaults injected by Tollgate"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}

	m := regexp.MustCompile(`Processes \(stopped on exit\): (.*)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("demo did not list its processes")
	}
	pids := strings.Fields(m[1])
	if len(pids) < 4 {
		t.Errorf("demo listed %d processes (%s); want etcd, kube-apiserver, controller-manager and tollgate", len(pids), m[1])
	}
	for _, np := range pids {
		_, pidStr, _ := strings.Cut(np, "=")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			t.Fatalf("bad process entry %q", np)
		}
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group of %s is still alive after the demo exited", np)
		}
	}
	for _, pm := range regexp.MustCompile(`https://127\.0\.0\.1:(\d+)`).FindAllStringSubmatch(text, -1) {
		port, _ := strconv.Atoi(pm[1])
		if harness.PortBound(port) {
			t.Errorf("port %d is still bound after the demo exited", port)
		}
	}
	if m := regexp.MustCompile(`Logs: (\S+)`).FindStringSubmatch(text); m != nil {
		if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
			t.Errorf("demo left its directory %s behind", m[1])
		}
	}
}
