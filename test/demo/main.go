// Command demo runs Tollgate against a real local control plane: it starts
// etcd, kube-apiserver (in-tree LimitRanger off) and kube-controller-manager
// on loopback, registers the webhooks rendered from the Helm chart in URL
// mode, starts a CNCF Distribution registry on loopback with one image
// signed by cosign and one not, starts `tollgate serve`, applies examples/
// and says in plain words what happened to each Pod, then shows tags pinned
// to digests and unsigned images refused. It then keeps everything running until Ctrl-C,
// or exits at once with --once (or DEMO_EXIT=1).
//
//	make demo            # or: go run ./test/demo [--once]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tollgate-dev/tollgate/test/harness"
)

func main() {
	once := flag.Bool("once", os.Getenv("DEMO_EXIT") != "", "apply the examples and the registry scene, report, clean up and exit (also DEMO_EXIT=1)")
	examples := flag.String("examples", filepath.Join(harness.RepoRoot(), "examples"), "examples directory")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	code, err := run(*examples, *once)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(examples string, once bool) (int, error) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	// Whatever happens below, every process started is stopped by PID.
	defer harness.StopAll()

	d, err := startScene(ctx, examples)
	if d != nil {
		defer d.stop()
	}
	if err != nil {
		return 1, err
	}
	mismatches, err := d.applyPods(ctx)
	if err != nil {
		return 1, err
	}
	wrong, err := d.runRegistryScene(ctx)
	if err != nil {
		return 1, err
	}
	mismatches += wrong
	d.printTryIt()
	if once {
		if mismatches > 0 {
			return 2, fmt.Errorf("%d example(s) did not do what their comment says", mismatches)
		}
		return 0, nil
	}
	fmt.Println("\nEverything keeps running. Press Ctrl-C to stop it and clean up.")
	<-ctx.Done()
	fmt.Println("\nStopping…")
	return 0, nil
}
