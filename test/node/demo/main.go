// Command demo is `make demo-node`: Tollgate's Helm chart with default
// values on a real local node (kubelet, containerd, runc, bridge CNI) of a
// local control plane, with cert-manager, walked through install,
// admissions, a lost replica, upgrades and uninstall. With DEMO_EXIT unset
// it keeps the cluster up after the walkthrough until Ctrl-C.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
	"github.com/tollgate-dev/tollgate/test/node/scene"
)

func main() { os.Exit(run()) }

func run() int {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	logf := func(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var s *scene.Scene
	stop := harness.OnSignal(func() {
		if s != nil {
			s.Stop(context.Background())
		}
	})
	defer stop()
	begin := time.Now()
	s, err := scene.Start(ctx, logf)
	if err == nil {
		err = s.RunAll(ctx)
	}
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo-node:", err)
		code = 1
	} else {
		logf("walkthrough done in %s", time.Since(begin).Round(100*time.Millisecond))
		if os.Getenv("DEMO_EXIT") == "" && s != nil {
			logf("the cluster stays up: KUBECONFIG=%s kubectl get nodes,pods -A; Ctrl-C stops and removes everything", s.API.Kubeconfig)
			wait := make(chan os.Signal, 1)
			signal.Notify(wait, syscall.SIGINT, syscall.SIGTERM)
			stop() // this wait owns the signal now
			<-wait
		}
	}
	if s != nil {
		s.Stop(context.Background())
	}
	harness.StopAll()
	logf("stopped every process by PID; node bridge, Pod network namespaces and route guard removed")
	return code
}
