package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Drain cordons the node, deletes every Pod on it and waits until the
// kubelet has stopped them (a Pod object goes only once its containers,
// sandbox and network are torn down), so Stop finds nothing running.
func (n *Node) Drain(ctx context.Context, api *APIServer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := api.Client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon %s: %w", n.Name, err)
	}
	sel := metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name}
	left := 0
	err := Poll(ctx, time.Second, func(ctx context.Context) (bool, error) {
		pods, err := api.Client.CoreV1().Pods("").List(ctx, sel)
		if err != nil {
			return false, nil
		}
		left = len(pods.Items)
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				_ = api.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
			}
		}
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("drain %s: %d pods still there: %w", n.Name, left, err)
	}
	return nil
}

// Stop stops the kubelet, any container still running, containerd and its
// shims, all by PID; then unmounts what they left under Dir, deletes the
// network namespaces containerd made and the bridge, and removes Dir.
func (n *Node) Stop() {
	n.once.Do(func() {
		if n.kubelet != nil {
			n.kubelet.Stop(15 * time.Second)
		}
		tasks := filepath.Join(n.Dir, "containerd", "state", "io.containerd.runtime.v2.task")
		killPIDFiles(tasks, "init.pid") // containers the kubelet did not stop
		if n.containerd != nil {
			n.containerd.Stop(15 * time.Second)
		}
		killPIDFiles(tasks, "shim.pid")
		unmountUnder(n.Dir)
		for name := range listNetns() {
			if !n.netnsBefore[name] && strings.HasPrefix(name, "cni-") {
				if err := ip(context.Background(), "netns", "del", name); err != nil {
					slog.Warn("remove pod network namespace", "netns", name, "err", err)
				}
			}
		}
		if err := ip(context.Background(), "link", "del", nodeBridge); err != nil {
			slog.Warn("remove node bridge", "bridge", nodeBridge, "err", err)
		}
		removeKubeCgroups()
		if !n.varLibKubelet {
			_ = os.RemoveAll(varLibKubelet)
		}
		if os.Getenv("TOLLGATE_KEEP_DIR") != "" {
			slog.Info("keeping node dir", "dir", n.Dir)
			return
		}
		if err := os.RemoveAll(n.Dir); err != nil {
			slog.Warn("remove node dir", "dir", n.Dir, "err", err)
		}
	})
}

// killPIDFiles kills, with SIGKILL, every process named by a file called
// name under dir, and waits (bounded) until they are gone.
func killPIDFiles(dir, name string) {
	var pids []int
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != name {
			return nil
		}
		raw, err := os.ReadFile(p)
		if pid, convErr := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && convErr == nil && pid > 1 {
			pids = append(pids, pid)
		}
		return nil
	})
	for _, pid := range pids {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			slog.Info("killed node leftover", "what", name, "pid", pid)
		}
	}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		alive := false
		for _, pid := range pids {
			alive = alive || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
		}
		if !alive {
			return
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			slog.Warn("unmount", "path", p, "err", err)
		}
	}
}

// listNetns names the network namespaces `ip netns` knows.
func listNetns() map[string]bool {
	out := map[string]bool{}
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// removeKubeCgroups removes the kubelet's kubepods cgroups (cgroup v1,
// every controller), deepest first. A cgroup with a process left fails to
// go and is reported.
func removeKubeCgroups() {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				slog.Warn("remove cgroup", "path", dirs[i], "err", err)
			}
		}
	}
}
