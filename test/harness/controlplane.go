package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Options shapes the first API server of a control plane.
type Options struct {
	APIServer APIServerOptions
	// ControllerManager runs kube-controller-manager against the first server.
	ControllerManager bool
	// Controllers replaces the controller-manager's default set (a node
	// needs Deployments, ReplicaSets, EndpointSlices and garbage collection).
	Controllers []string
}

// ControlPlane is etcd plus one or more kube-apiservers (each with its own
// etcd prefix) and optionally a kube-controller-manager, all in Dir.
type ControlPlane struct {
	Dir     string
	CA      *CA
	Token   string
	EtcdURL string
	// APIServer is the first server; Extra holds the ones added later.
	APIServer *APIServer
	Extra     []*APIServer
	// WebhookClient is the client certificate every API server presents to
	// webhooks; pass WebhookClient.CAFile to Tollgate for mutual TLS.
	WebhookClient *WebhookClientAuth

	tokenFile string
	saKeyFile string
	etcd      *Process
	kcm       *Process
	stopOnce  sync.Once
}

// Start brings up etcd, the first kube-apiserver and, if asked, the
// controller-manager, and waits until they are ready. On error everything
// started so far is stopped.
func Start(ctx context.Context, o Options) (cp *ControlPlane, err error) {
	dir, err := os.MkdirTemp("", "tollgate-controlplane-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	cp = &ControlPlane{Dir: dir}
	atStopAll(cp.Stop)
	defer func() {
		if err != nil {
			cp.Stop()
		}
	}()
	if cp.CA, err = NewCA("tollgate-e2e-cluster-ca"); err != nil {
		return nil, err
	}
	if err = writeAtomic(filepath.Join(dir, "ca.crt"), cp.CA.CertPEM, 0o644); err != nil {
		return nil, err
	}
	if cp.WebhookClient, err = writeWebhookClientAuth(dir); err != nil {
		return nil, err
	}
	raw := make([]byte, 16)
	_, _ = rand.Read(raw)
	cp.Token = hex.EncodeToString(raw)
	cp.tokenFile = filepath.Join(dir, "tokens.csv")
	if err = os.WriteFile(cp.tokenFile, []byte(cp.Token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	saKey, err := NewSigningKeyPEM()
	if err != nil {
		return nil, err
	}
	cp.saKeyFile = filepath.Join(dir, "sa.key")
	if err = os.WriteFile(cp.saKeyFile, saKey, 0o600); err != nil {
		return nil, fmt.Errorf("sa key: %w", err)
	}

	begin := time.Now()
	if cp.etcd, cp.EtcdURL, err = startEtcd(ctx, dir); err != nil {
		return nil, err
	}
	if o.APIServer.Name == "" {
		o.APIServer.Name = "kube-apiserver"
	}
	if cp.APIServer, err = cp.startAPIServer(ctx, o.APIServer); err != nil {
		return nil, err
	}
	if o.ControllerManager {
		if cp.kcm, err = cp.startControllerManager(ctx, cp.APIServer, o.Controllers); err != nil {
			return nil, err
		}
	}
	slog.Info("control plane ready", "dir", dir, "apiserver", cp.APIServer.URL, "took", time.Since(begin).Round(time.Millisecond))
	return cp, nil
}

// AddAPIServer starts another kube-apiserver on the same etcd under its own
// prefix, so it is an independent cluster that costs one process.
func (cp *ControlPlane) AddAPIServer(ctx context.Context, o APIServerOptions) (*APIServer, error) {
	if o.Name == "" {
		o.Name = fmt.Sprintf("kube-apiserver-%d", len(cp.Extra)+2)
	}
	s, err := cp.startAPIServer(ctx, o)
	if err != nil {
		return nil, err
	}
	cp.Extra = append(cp.Extra, s)
	return s, nil
}

// Stop stops every process of the control plane by PID, newest first, and
// removes its directory. Safe to call more than once.
func (cp *ControlPlane) Stop() {
	cp.stopOnce.Do(func() {
		if cp.kcm != nil {
			cp.kcm.Stop(10 * time.Second)
		}
		for i := len(cp.Extra) - 1; i >= 0; i-- {
			cp.Extra[i].proc.Stop(15 * time.Second)
		}
		if cp.APIServer != nil {
			cp.APIServer.proc.Stop(15 * time.Second)
		}
		if cp.etcd != nil {
			cp.etcd.Stop(10 * time.Second)
		}
		if os.Getenv("TOLLGATE_KEEP_DIR") != "" {
			slog.Info("keeping control plane dir", "dir", cp.Dir)
			return
		}
		if err := os.RemoveAll(cp.Dir); err != nil {
			slog.Warn("remove control plane dir", "dir", cp.Dir, "err", err)
		}
	})
}
