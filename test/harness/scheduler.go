package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// StartScheduler runs kube-scheduler (built with the kubelet, make/node.mk)
// against api on loopback. The harness's control plane has none because no
// Pod ran anywhere before the node.
func StartScheduler(ctx context.Context, dir string, api *APIServer) (*Process, error) {
	bin := filepath.Join(NodeBin(), "kube-scheduler")
	if err := mustExist("kube-scheduler", bin, "run `make node-bin`"); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess("kube-scheduler", dir, bin, []string{
		"--kubeconfig=" + api.Kubeconfig,
		"--authentication-kubeconfig=" + api.Kubeconfig,
		"--authorization-kubeconfig=" + api.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(dir, "kube-scheduler"),
		"--leader-elect=false",
	}, nil)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	if err := waitHTTP(ctx, p, httpClient(nil), url, "", 60*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}
