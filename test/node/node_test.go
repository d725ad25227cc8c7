//go:build e2enode

// Package node runs the chart's Pods on a real local node: `make e2e-node`
// (opt-in: it needs root, containerd and runc, and starts a kubelet).
package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
	"github.com/tollgate-dev/tollgate/test/node/scene"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	defer harness.OnSignal(func() {})()
	code := m.Run()
	harness.StopAll()
	if left := harness.Leftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: process groups still alive after the test: %v\n", left)
		code = 1
	}
	os.Exit(code)
}

// TestChartOnNode installs the chart on the node with default values and
// walks through admissions, a lost replica, upgrades and the uninstall.
func TestChartOnNode(t *testing.T) {
	if ok, why := harness.CanRunNode(); !ok {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	begin := time.Now()
	s, err := scene.Start(ctx, t.Logf)
	if s != nil {
		defer func() {
			s.Stop(context.Background())
			if err := nothingLeft(); err != nil {
				t.Error(err)
			}
		}()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scene up in %s", time.Since(begin).Round(100*time.Millisecond))
	if err := s.RunAll(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("all steps passed in %s", time.Since(begin).Round(100*time.Millisecond))
}

// nothingLeft checks what the node leaves on the host once stopped: its
// bridge, Pod network namespaces, the Service CIDR guard, its cgroups.
func nothingLeft() error {
	var left []string
	if _, err := os.Stat("/sys/class/net/tgnode0"); err == nil {
		left = append(left, "bridge tgnode0")
	}
	if entries, _ := os.ReadDir("/run/netns"); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "cni-") {
				left = append(left, "netns "+e.Name())
			}
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/kubepods"); err == nil {
		left = append(left, "cgroup /sys/fs/cgroup/cpu/kubepods")
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind: %s", strings.Join(left, ", "))
	}
	return nil
}
