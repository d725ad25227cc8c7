//go:build e2e

// Package e2e runs Tollgate against a real local control plane (etcd,
// kube-apiserver, kube-controller-manager built by `make controlplane`).
// Most scenarios share one control plane and one tollgate process to keep
// the suite short; they run one after another, and any test that changes
// shared state (config, policies, webhook registration, the process itself)
// puts it back before it returns.
package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// env is the shared scene, set up once by TestMain.
var env *scene

type scene struct {
	cp         *harness.ControlPlane
	api        *harness.APIServer
	tg         *harness.Tollgate
	dir        string // config and policies live here, outside the control plane dir
	configPath string
	policyDir  string
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// Ctrl-C during `make e2e` must not leave servers behind.
	defer harness.OnSignal(func() {
		if env != nil {
			_ = os.RemoveAll(env.dir)
		}
	})()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	begin := time.Now()
	s, err := setup(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		if s != nil {
			s.teardown()
		}
		harness.StopAll()
		return 1
	}
	slog.Info("e2e scene ready", "took", time.Since(begin).Round(time.Millisecond), "apiserver", s.api.URL, "tollgate", s.tg.URL)
	env = s
	code := m.Run()
	s.teardown()
	harness.StopAll()
	if err := checkNothingLeft(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: after the suite:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "after the suite: every process started is gone and no port it used is bound")
	return code
}

func setup(ctx context.Context) (*scene, error) {
	dir, err := os.MkdirTemp("", "tollgate-e2e-")
	if err != nil {
		return nil, err
	}
	s := &scene{dir: dir, configPath: filepath.Join(dir, "config.yaml"), policyDir: filepath.Join(dir, "policies")}
	if err := os.MkdirAll(s.policyDir, 0o755); err != nil {
		return s, err
	}
	if err := os.WriteFile(s.configPath, []byte(baseConfig), 0o644); err != nil {
		return s, err
	}
	// In-tree LimitRanger off: in this cluster Tollgate is the only source of defaults.
	s.cp, err = harness.Start(ctx, harness.Options{ControllerManager: true})
	if err != nil {
		return s, err
	}
	s.api = s.cp.APIServer
	if r := harness.Kubectl(ctx, s.api.Kubeconfig, "", "create", "namespace", "tollgate-system"); r.Err != nil {
		return s, r.Err
	}
	s.tg, err = harness.StartTollgate(ctx, harness.TollgateOptions{
		Dir: s.cp.Dir, Kubeconfig: s.api.Kubeconfig, ConfigFile: s.configPath, PolicyDirs: []string{s.policyDir},
		// Mutual TLS: only the API server's webhook client certificate gets an answer.
		ClientCAFile: s.cp.WebhookClient.CAFile,
	})
	if err != nil {
		return s, err
	}
	if err := harness.RegisterWebhooks(ctx, s.api, s.tg, "tollgate"); err != nil {
		return s, err
	}
	return s, nil
}

func (s *scene) teardown() {
	if s.tg != nil {
		s.tg.Stop()
	}
	if s.cp != nil {
		s.cp.Stop()
	}
	_ = os.RemoveAll(s.dir)
}

// checkNothingLeft proves the suite cleaned up: no process group it started
// has a live member and no port it handed out is still bound.
func checkNothingLeft() error {
	if left := harness.Leftovers(); len(left) > 0 {
		return fmt.Errorf("process groups still alive: %v", left)
	}
	var bound []int
	for _, p := range harness.HandedPorts() {
		if harness.PortBound(p) {
			bound = append(bound, p)
		}
	}
	if len(bound) > 0 {
		return fmt.Errorf("ports still bound: %v", bound)
	}
	return nil
}

// baseConfig is the Tollgate config every test starts from.
const baseConfig = `apiVersion: tollgate.dev/v1alpha1
kind: Config
defaults:
  profiles:
    - name: e2e-small
      namespaceSelector:
        matchLabels:
          e2e.tollgate.dev/profile: small
      limits:
        - type: Container
          defaultRequest: {cpu: 100m, memory: 64Mi}
          default: {cpu: 200m, memory: 128Mi}
quota:
  mode: deny
  warnThreshold: 80
policies:
  failureMode: closed
  settings:
    allowed-registries:
      action: deny
      parameters:
        registries: [registry.k8s.io, docker.io/library, ghcr.io/acme/*]
    disallowed-tags:
      action: warn
`
