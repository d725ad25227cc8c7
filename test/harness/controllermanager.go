package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// kcmControllers are the controllers the scenarios depend on: default
// ServiceAccounts and their tokens, ResourceQuota status, namespace deletion.
var kcmControllers = "serviceaccount-token-controller,serviceaccount-controller,resourcequota-controller,namespace-controller"

func (cp *ControlPlane) startControllerManager(ctx context.Context, s *APIServer, controllers []string) (*Process, error) {
	list := kcmControllers
	if len(controllers) > 0 {
		list = strings.Join(controllers, ",")
	}
	bin, err := binary("kube-controller-manager")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	name := "kube-controller-manager"
	if s.Name != "kube-apiserver" {
		name = s.Name + "-controller-manager"
	}
	p, err := StartProcess(name, cp.Dir, bin, []string{
		"--kubeconfig=" + s.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(cp.Dir, name),
		"--leader-elect=false",
		"--controllers=" + list,
		"--service-account-private-key-file=" + cp.saKeyFile,
		"--root-ca-file=" + filepath.Join(cp.Dir, "ca.crt"),
		"--use-service-account-credentials=false",
		"--resource-quota-sync-period=10s",
	}, nil)
	if err != nil {
		return nil, err
	}
	// Self-signed loopback endpoint; /healthz is always allowed.
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	if err := waitHTTP(ctx, p, httpClient(nil), url, "", 90*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	return p, nil
}
