package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The local node's network: one bridge whose address is the node's
// InternalIP and the Pods' only neighbour. Pods get no default route, so
// nothing they send can leave the machine.
const (
	NodeName      = "tollgate-node"
	NodeIP        = "10.244.0.1"
	PodSubnet     = "10.244.0.0/24"
	nodeBridge    = "tgnode0"
	PauseImage    = "tollgate.local/pause:v1"
	noProxyHere   = "http://127.0.0.1:9" // discard port: an accidental pull fails here, on loopback
	varLibKubelet = "/var/lib/kubelet"
)

// NodeBin is the directory with kubelet and kube-scheduler (make/node.mk).
func NodeBin() string { return os.Getenv("TOLLGATE_NODE_BIN") }

// CNIBin is the directory with the bridge, host-local and loopback plugins.
func CNIBin() string { return os.Getenv("TOLLGATE_CNI_BIN") }

// PauseImageTar is the sandbox image built by make/node.mk.
func PauseImageTar() string { return os.Getenv("TOLLGATE_PAUSE_IMAGE") }

// Node is containerd, runc, CNI and a kubelet registered with a control
// plane, all in Dir (outside the control plane's directory, because the
// kubelet mounts Pod volumes there and those go before the directory does).
type Node struct {
	Name, IP, Dir string
	sock          string
	containerd    *Process
	kubelet       *Process
	netnsBefore   map[string]bool
	// The kubelet always makes /var/lib/kubelet/device-plugins; removed on
	// Stop unless it was there before.
	varLibKubelet bool
	once          sync.Once
}

// CanRunNode reports whether this machine can run the node, and why not.
func CanRunNode() (bool, string) {
	if ok, why := CanNetns(); !ok {
		return false, why
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr"} {
		if _, err := exec.LookPath(b); err != nil {
			return false, b + " not found (make e2e-node installs containerd and runc with apt-get)"
		}
	}
	if NodeBin() == "" || CNIBin() == "" || PauseImageTar() == "" {
		return false, "TOLLGATE_NODE_BIN, TOLLGATE_CNI_BIN and TOLLGATE_PAUSE_IMAGE are unset (run through `make e2e-node`)"
	}
	return true, ""
}

// StartNode brings up the node against api and waits until it is Ready.
// On error everything started so far is stopped and removed.
func StartNode(ctx context.Context, api *APIServer) (n *Node, err error) {
	if ok, why := CanRunNode(); !ok {
		return nil, fmt.Errorf("cannot run a node: %s", why)
	}
	dir, err := os.MkdirTemp("", "tollgate-node-")
	if err != nil {
		return nil, fmt.Errorf("node dir: %w", err)
	}
	n = &Node{Name: NodeName, IP: NodeIP, Dir: dir, sock: filepath.Join(dir, "containerd.sock"), netnsBefore: listNetns()}
	_, statErr := os.Stat(varLibKubelet)
	n.varLibKubelet = statErr == nil
	atStopAll(n.Stop)
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	begin := time.Now()
	if err = n.makeBridge(ctx); err != nil {
		return n, err
	}
	if err = n.startContainerd(ctx); err != nil {
		return n, err
	}
	if err = n.Import(ctx, PauseImageTar()); err != nil {
		return n, err
	}
	if err = n.startKubelet(api); err != nil {
		return n, err
	}
	if err = n.waitReady(ctx, api); err != nil {
		return n, err
	}
	slog.Info("node ready", "node", n.Name, "ip", n.IP, "dir", dir, "took", time.Since(begin).Round(time.Millisecond))
	return n, nil
}

func (n *Node) makeBridge(ctx context.Context) error {
	if exec.CommandContext(ctx, "ip", "link", "show", nodeBridge).Run() == nil {
		return fmt.Errorf("bridge %s already exists: another local node is running, or one was not cleaned up (ip link del %s)", nodeBridge, nodeBridge)
	}
	for _, s := range [][]string{
		{"link", "add", nodeBridge, "type", "bridge"},
		{"addr", "add", NodeIP + "/24", "dev", nodeBridge},
		{"link", "set", nodeBridge, "up"},
	} {
		if err := ip(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) startContainerd(ctx context.Context) error {
	cni := filepath.Join(n.Dir, "cni")
	if err := os.MkdirAll(filepath.Join(cni, "net.d"), 0o755); err != nil {
		return fmt.Errorf("cni dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(cni, "net.d", "10-tollgate.conflist"), []byte(cniConfig(cni)), 0o644); err != nil {
		return fmt.Errorf("cni config: %w", err)
	}
	cfg := filepath.Join(n.Dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(containerdConfig(n.Dir, n.sock)), 0o644); err != nil {
		return fmt.Errorf("containerd config: %w", err)
	}
	// Registries are reached only through a proxy that is not there.
	env := []string{"HTTP_PROXY=" + noProxyHere, "HTTPS_PROXY=" + noProxyHere, "http_proxy=" + noProxyHere, "https_proxy=" + noProxyHere, "NO_PROXY=", "no_proxy="}
	p, err := StartProcess("containerd", n.Dir, "containerd", []string{"--config", cfg}, env)
	if err != nil {
		return err
	}
	n.containerd = p
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if done, err := p.Exited(); done {
			return false, fmt.Errorf("containerd exited: %v\n%s", err, p.Tail(2000))
		}
		return n.ctr(ctx, "version").Err == nil, nil
	})
}

// Import loads an image tarball into containerd's CRI namespace, as
// `ctr -n k8s.io images import` does for a user.
func (n *Node) Import(ctx context.Context, tar string) error {
	if r := n.ctr(ctx, "images", "import", tar); r.Err != nil {
		return fmt.Errorf("import %s: %w", tar, r.Err)
	}
	return nil
}

// Images lists the image references in containerd's CRI namespace.
func (n *Node) Images(ctx context.Context) ([]string, error) {
	r := n.ctr(ctx, "images", "ls", "-q")
	if r.Err != nil {
		return nil, r.Err
	}
	return strings.Fields(r.Stdout), nil
}

func (n *Node) ctr(ctx context.Context, args ...string) Result {
	return run(ctx, "ctr", append([]string{"--address", n.sock, "--namespace", "k8s.io"}, args...), "")
}

func (n *Node) startKubelet(api *APIServer) error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	healthz, err := FreePort()
	if err != nil {
		return err
	}
	cfg := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(cfg, []byte(kubeletConfig(n.Dir, n.sock, port, healthz)), 0o644); err != nil {
		return fmt.Errorf("kubelet config: %w", err)
	}
	bin := filepath.Join(NodeBin(), "kubelet")
	if err := mustExist("kubelet", bin, "run `make node-bin`"); err != nil {
		return err
	}
	n.kubelet, err = StartProcess("kubelet", n.Dir, bin, []string{
		"--config=" + cfg, "--kubeconfig=" + api.Kubeconfig, "--hostname-override=" + n.Name,
		"--node-ip=" + n.IP, "--root-dir=" + filepath.Join(n.Dir, "kubelet"),
		"--cert-dir=" + filepath.Join(n.Dir, "kubelet-pki"), "--v=1",
	}, nil)
	return err
}

func (n *Node) waitReady(ctx context.Context, api *APIServer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	last := "not registered"
	err := Poll(ctx, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		if done, err := n.kubelet.Exited(); done {
			return false, fmt.Errorf("kubelet exited: %v\n%s", err, n.kubelet.Tail(3000))
		}
		node, err := api.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady {
				last = fmt.Sprintf("Ready=%s (%s: %s)", c.Status, c.Reason, c.Message)
				return c.Status == corev1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s never Ready (%s): %w\nkubelet log:\n%s", n.Name, last, err, n.kubelet.Tail(3000))
	}
	return nil
}

// KubeletLog is the tail of the kubelet's log, for failure messages.
func (n *Node) KubeletLog(size int) string {
	if n.kubelet == nil {
		return ""
	}
	return n.kubelet.Tail(size)
}

// ContainerPIDs maps "<pod>/<container>" to the host PID of each running
// container of that name, from containerd's own records: what a user
// checks with `ctr tasks ls` and `ctr containers info`.
func (n *Node) ContainerPIDs(ctx context.Context, container string) (map[string]int, error) {
	r := n.ctr(ctx, "tasks", "ls")
	if r.Err != nil {
		return nil, r.Err
	}
	out := map[string]int{}
	for _, line := range strings.Split(r.Stdout, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "RUNNING" {
			continue
		}
		info := n.ctr(ctx, "containers", "info", f[0])
		if info.Err != nil {
			continue // gone meanwhile
		}
		var c struct{ Labels map[string]string }
		if err := json.Unmarshal([]byte(info.Stdout), &c); err != nil {
			return nil, fmt.Errorf("ctr containers info %s: %w", f[0], err)
		}
		if c.Labels["io.kubernetes.container.name"] != container {
			continue
		}
		pid, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("ctr tasks ls: pid %q: %w", f[1], err)
		}
		out[c.Labels["io.kubernetes.pod.name"]+"/"+container] = pid
	}
	return out, nil
}
