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
// example, finds each doing what its comment says, shows the registry
// scene (a tag pinned to its digest, an unsigned image refused, a tag moved
// to unsigned content refused naming the new digest), exits 0 and leaves
// no process and no bound port behind.
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

	checkRegistryScene(t, text)

	m := regexp.MustCompile(`Processes \(stopped on exit\): (.*)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatal("demo did not list its processes")
	}
	pids := strings.Fields(m[1])
	if len(pids) < 5 || !strings.Contains(m[1], "registry=") {
		t.Errorf("demo listed %d processes (%s); want etcd, kube-apiserver, controller-manager, registry and tollgate", len(pids), m[1])
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

// checkRegistryScene finds in the demo's output the lines a user reads in
// the registry scene: the signed Pod stored with its tag pinned to the
// digest crane pushed (and Tollgate's annotation saying so), the unsigned
// image refused, and after the tag moved, a Pod by that tag refused naming
// the new digest.
func checkRegistryScene(t *testing.T, text string) {
	t.Helper()
	pushed := regexp.MustCompile(`crane append -t (127\.0\.0\.1:\d+/demo/app):1\.0 +-> (sha256:[0-9a-f]{64})\n`).FindStringSubmatch(text)
	moved := regexp.MustCompile(`crane append -t \S+:1\.0 +-> (sha256:[0-9a-f]{64}) \(the tag moved`).FindStringSubmatch(text)
	if pushed == nil || moved == nil {
		t.Fatal("demo output lacks the crane pushes of demo/app:1.0 and its move")
	}
	repo, signed := pushed[1], pushed[2]
	for _, want := range []string{
		"cosign sign --key cosign.key " + repo + "@" + signed,
		"(pod registry-demo/signed, image " + repo + ":1.0, imagePullSecrets regcred)\n" +
			"    expected: Allowed: signed by the demo key; the tag is pinned to its digest\n" +
			"    result:   ALLOWED (the Pod was stored)\n" +
			"    stored image: " + repo + ":1.0@" + signed + "\n" +
			"    tollgate.dev/defaulted: image " + repo + ":1.0 pinned to " + signed + " for container app\n",
		"(pod registry-demo/unsigned, image " + repo + ":1.1, imagePullSecrets regcred)",
		"is not signed by any of demo-release: no signature found",
		"(pod registry-demo/moved, image " + repo + ":1.0, imagePullSecrets regcred)\n" +
			"    expected: Denied: the tag now names unsigned content, and the reason names its new digest\n" +
			"    result:   DENIED\n" +
			`    reason:   [require-signature] container "app" image "` + repo + ":1.0@" + moved[1] + `" (` + moved[1] + ") is not signed by any of demo-release",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(text, "this is NOT what should happen") {
		t.Error("a Pod of the registry scene did not do what the demo says")
	}
}
