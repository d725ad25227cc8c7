package server

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
)

// reloader watches the config file and policy directories and swaps in a
// new state when they change. A bad change is logged and counted, and the
// last good state stays live. It also tracks the serving certificate's expiry.
type reloader struct {
	sources  loader.Sources
	pipeline *pipeline.Pipeline
	metrics  *metrics.Metrics
	certDir  string
}

// settle is how long changes must stop before a reload: a ConfigMap update
// arrives as several file events, and kubectl cp of many files too.
const settle = 300 * time.Millisecond

// Start implements manager.Runnable.
func (r *reloader) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("reload")
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("create file watcher: %w", err)
	}
	defer w.Close()
	// Directories, not files: a mounted ConfigMap swaps a symlink, which a
	// watch on the old file would never see.
	var dirs []string
	if r.sources.ConfigFile != "" {
		dirs = append(dirs, filepath.Dir(r.sources.ConfigFile))
	}
	dirs = append(dirs, r.sources.PolicyDirs...)
	if r.certDir != "" {
		dirs = append(dirs, r.certDir)
	}
	for _, d := range dirs {
		if err := addTree(w, d); err != nil {
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	r.recordCert()
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op.Has(fsnotify.Create) {
				_ = addTree(w, ev.Name) // new subdirectories of a policy dir
			}
			timer = time.After(settle)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.Error(err, "file watch error")
		case <-timer:
			timer = nil
			r.reload(ctx)
			r.recordCert()
		}
	}
}

func (r *reloader) reload(ctx context.Context) {
	log := ctrl.Log.WithName("reload")
	st, err := loader.Load(ctx, r.sources)
	if err != nil {
		r.metrics.Reloaded(false, 0)
		log.Error(err, "reload refused; the previous config and policies stay in force")
		return
	}
	r.pipeline.Swap(st)
	r.metrics.Reloaded(true, float64(time.Now().Unix()))
	log.Info("config and policies reloaded", "policies", st.Policies.Policies())
}

// recordCert exports the serving certificate's expiry for alerting.
func (r *reloader) recordCert() {
	if r.certDir == "" {
		return
	}
	data, err := os.ReadFile(filepath.Join(r.certDir, "tls.crt"))
	if err != nil {
		return
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return
	}
	r.metrics.CertExpiry(float64(cert.NotAfter.Unix()))
}

// addTree watches dir and its subdirectories.
func addTree(w *fsnotify.Watcher, dir string) error {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return w.Add(p)
		}
		return nil
	})
}
