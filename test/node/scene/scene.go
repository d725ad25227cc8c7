// Package scene runs Tollgate's Helm chart on a real local node (kubelet,
// containerd, runc, bridge CNI) of the harness's control plane, with the
// test cert-manager, and walks through what a user does with it: install,
// admissions through the chart's Service, losing a replica, upgrading the
// config and policies, uninstalling. `make e2e-node` and `make demo-node`
// run the same steps; every step returns an error when what a user would
// see is not what should happen.
package scene

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// Namespace and Release are the chart's defaults as the README installs them.
const (
	Namespace = "tollgate-system"
	Release   = "tollgate"
)

// Scene is the running cluster: control plane, scheduler, node, cert-manager.
type Scene struct {
	CP   *harness.ControlPlane
	API  *harness.APIServer
	Node *harness.Node
	// Log prints one line of what is happening (the demo's output, the test's log).
	Log func(format string, args ...any)

	dir      string
	fwd      *harness.Forwarder
	unguard  func()
	examples string
	stops    []func()
}

// Controllers are the controller-manager controllers a node with a
// Deployment needs, on top of the harness's defaults.
var controllers = []string{
	"serviceaccount-token-controller", "serviceaccount-controller", "resourcequota-controller", "namespace-controller",
	"deployment-controller", "replicaset-controller", "endpointslice-controller", "endpoints-controller",
	"garbage-collector-controller", "root-ca-certificate-publisher-controller", "disruption-controller",
	// helm upgrade runs the chart's check-config hook as a Job.
	"job-controller",
	// The kubelet registers with the not-ready taint; this controller lifts it.
	"node-lifecycle-controller",
}

// NodeImageTar is Tollgate's image for the node (`make image`), named as
// the chart's default values name it.
func NodeImageTar() string { return os.Getenv("TOLLGATE_NODE_IMAGE") }

// Start brings up everything; on error the returned Scene still needs Stop.
func Start(ctx context.Context, logf func(string, ...any)) (*Scene, error) {
	if ok, why := harness.CanRunNode(); !ok {
		return nil, fmt.Errorf("cannot run the node: %s", why)
	}
	if NodeImageTar() == "" {
		return nil, fmt.Errorf("TOLLGATE_NODE_IMAGE is unset (run through `make e2e-node` or `make demo-node`, which run `make image`)")
	}
	dir, err := os.MkdirTemp("", "tollgate-node-scene-")
	if err != nil {
		return nil, fmt.Errorf("scene dir: %w", err)
	}
	s := &Scene{Log: logf, dir: dir, examples: filepath.Join(harness.RepoRoot(), "examples")}
	s.unguard, err = harness.GuardServiceCIDR(ctx)
	if err != nil {
		return s, err
	}
	s.Log("ip route replace unreachable %s (no kube-proxy: a Service IP must never leave through the default route)", harness.ServiceCIDR)
	begin := time.Now()
	s.CP, err = harness.Start(ctx, harness.Options{
		APIServer: harness.APIServerOptions{
			ExtraFlags: []string{"--enable-aggregator-routing=true", "--kubelet-preferred-address-types=InternalIP"},
			ExtraSANs:  []string{harness.NodeIP},
		},
		ControllerManager: true,
		Controllers:       controllers,
	})
	if err != nil {
		return s, fmt.Errorf("start control plane: %w", err)
	}
	s.API = s.CP.APIServer
	s.Log("control plane %s up in %s at %s (kubeconfig %s)", harness.ControlPlaneVersion, since(begin), s.API.URL, s.API.Kubeconfig)
	return s, s.startNode(ctx)
}

func (s *Scene) startNode(ctx context.Context) error {
	sched, err := harness.StartScheduler(ctx, s.CP.Dir, s.API)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { sched.Stop(10 * time.Second) })
	begin := time.Now()
	if s.Node, err = harness.StartNode(ctx, s.API); err != nil {
		return err
	}
	s.Log("node %s Ready in %s: kubelet %s, containerd, runc, bridge CNI on %s; sandbox image %s built here",
		s.Node.Name, since(begin), harness.ControlPlaneVersion, harness.PodSubnet, harness.PauseImage)
	// No kube-proxy: Pods reach the API server at the node address, where
	// this relays to the server's loopback port.
	if s.fwd, err = harness.Forward(harness.NodeIP, strings.TrimPrefix(s.API.URL, "https://")); err != nil {
		return err
	}
	if err := s.Node.Import(ctx, NodeImageTar()); err != nil {
		return err
	}
	imgs, err := s.Node.Images(ctx)
	if err != nil {
		return err
	}
	s.Log("ctr -n k8s.io images import %s; the node's images: %s", rel(NodeImageTar()), strings.Join(imgs, ", "))
	begin = time.Now()
	if err := harness.InstallCertManagerCRDs(ctx, s.API.Kubeconfig); err != nil {
		return err
	}
	cm, err := harness.StartCertManager(s.CP.Dir, s.API.Kubeconfig)
	if err != nil {
		return err
	}
	s.stops = append(s.stops, func() { cm.Stop(10 * time.Second) })
	s.Log("cert-manager %s (CRDs and the test controller) running in %s", harness.CertManagerVersion, since(begin))
	return nil
}

// Stop drains the node (so the kubelet stops every container itself), then
// stops everything by PID, removes the node's network and the route guard.
func (s *Scene) Stop(ctx context.Context) {
	if s.Node != nil && s.API != nil {
		if err := s.Node.Drain(ctx, s.API); err != nil {
			s.Log("drain: %v (stopping containers by PID instead)", err)
		}
	}
	if s.Node != nil {
		s.Node.Stop()
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	if s.fwd != nil {
		s.fwd.Close()
	}
	if s.CP != nil {
		s.CP.Stop()
	}
	if s.unguard != nil {
		s.unguard()
	}
	_ = os.RemoveAll(s.dir)
}

// Kubectl runs kubectl as the cluster admin.
func (s *Scene) Kubectl(ctx context.Context, args ...string) harness.Result {
	return harness.Kubectl(ctx, s.API.Kubeconfig, "", args...)
}

// Helm runs the pinned helm as the cluster admin.
func (s *Scene) Helm(ctx context.Context, args ...string) harness.Result {
	return harness.Helm(ctx, s.API.Kubeconfig, args...)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

func rel(p string) string {
	if r, err := filepath.Rel(harness.RepoRoot(), p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
