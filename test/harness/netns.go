package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceCIDR is the Service IP range of the harness's API servers. No
// kube-proxy runs, so a connection to a Service IP would leave through the
// default route; GuardServiceCIDR makes the kernel refuse it instead.
const ServiceCIDR = "10.96.0.0/16"

// Netns is a network namespace with a veth pair to the host: a process in it
// has its own non-loopback address (NsIP) that an EndpointSlice may name,
// while all its traffic stays on this machine.
type Netns struct {
	Name   string
	HostIP string // host end of the veth pair
	NsIP   string // namespace end

	hostIf string
	once   sync.Once
}

// CanNetns reports whether this process may create network namespaces
// (root); tests that need one skip with this reason otherwise.
func CanNetns() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "needs root to create a network namespace"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return false, "needs the ip command (iproute2)"
	}
	return true, ""
}

// NewNetns creates a namespace and a /30 veth link to it, with addresses in
// 10.250.0.0/16 picked at random so parallel runs do not collide. Close (or
// StopAll) removes the namespace, which takes its veth end and routes along.
func NewNetns(ctx context.Context) (*Netns, error) {
	raw := make([]byte, 3)
	_, _ = rand.Read(raw)
	id := hex.EncodeToString(raw)
	third, fourth := int(raw[0]), int(raw[1]&0xfc) // a /30 block: .0 network, .1 host, .2 ns
	n := &Netns{
		Name:   "tollgate-e2e-" + id,
		HostIP: fmt.Sprintf("10.250.%d.%d", third, fourth+1),
		NsIP:   fmt.Sprintf("10.250.%d.%d", third, fourth+2),
		hostIf: "tgh" + id,
	}
	nsIf := "tgn" + id
	atStopAll(n.Close)
	steps := [][]string{
		{"netns", "add", n.Name},
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", n.Name},
		{"addr", "add", n.HostIP + "/30", "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.Name, "addr", "add", n.NsIP + "/30", "dev", nsIf},
		{"-n", n.Name, "link", "set", nsIf, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			n.Close()
			return nil, err
		}
	}
	slog.Info("network namespace ready", "netns", n.Name, "host", n.HostIP, "ns", n.NsIP)
	return n, nil
}

// Start runs bin inside the namespace as a harness process (stopped by PID
// like any other); `ip netns exec` execs bin, so the PID is bin's own.
func (n *Netns) Start(name, dir, bin string, args, env []string) (*Process, error) {
	return StartProcess(name, dir, "ip", append([]string{"netns", "exec", n.Name, bin}, args...), env)
}

// Close deletes the host end of the veth pair and the namespace. Processes
// in it must be stopped first (StopAll stops processes before cleanups).
func (n *Netns) Close() {
	n.once.Do(func() {
		ctx := context.Background()
		_ = ip(ctx, "link", "del", n.hostIf) // also removes the peer; may already be gone
		if err := ip(ctx, "netns", "del", n.Name); err != nil {
			slog.Warn("remove network namespace", "netns", n.Name, "err", err)
		}
	})
}

// GuardServiceCIDR adds an unreachable route for ServiceCIDR unless one is
// already there, and returns the function that removes what it added.
func GuardServiceCIDR(ctx context.Context) (func(), error) {
	out, err := exec.CommandContext(ctx, "ip", "route", "show", "type", "unreachable", ServiceCIDR).Output()
	if err != nil {
		return nil, fmt.Errorf("ip route show: %w", err)
	}
	if strings.TrimSpace(string(out)) != "" {
		return func() {}, nil // someone else's guard: leave it to them
	}
	if err := ip(ctx, "route", "replace", "unreachable", ServiceCIDR); err != nil {
		return nil, err
	}
	var once sync.Once
	remove := func() {
		once.Do(func() {
			if err := ip(context.Background(), "route", "del", "unreachable", ServiceCIDR); err != nil {
				slog.Warn("remove service CIDR guard", "err", err)
			}
		})
	}
	atStopAll(remove)
	return remove, nil
}

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// KubeconfigVia writes an admin kubeconfig for s that connects through
// server (e.g. a Forwarder on the host end of a veth pair) while still
// verifying the API server's certificate, which names localhost.
func (cp *ControlPlane) KubeconfigVia(path, name, server string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: cp.CA.CertPEM, TLSServerName: "localhost"}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: cp.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "admin"}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
