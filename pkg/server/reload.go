package server

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// pins rebuilds the image pinner (and its registry client) for a new state.
	pins    func(*pipeline.State) error
	metrics *metrics.Metrics
	certDir string
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
	// watch on the old file would never see. Policy and certificate
	// directories are watched with their subdirectories; the config file's
	// directory alone, since only its top level can change the file.
	for _, d := range r.trees() {
		if err := addTree(w, d); err != nil {
			return fmt.Errorf("watch %s: %w", d, err)
		}
	}
	if r.sources.ConfigFile != "" && !r.inTree(r.sources.ConfigFile) {
		if err := w.Add(filepath.Dir(r.sources.ConfigFile)); err != nil {
			return fmt.Errorf("watch %s: %w", filepath.Dir(r.sources.ConfigFile), err)
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
			if !r.relevant(ev.Name) {
				continue
			}
			if ev.Op.Has(fsnotify.Create) && r.inTree(ev.Name) {
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

// trees are the directories watched with their subdirectories.
func (r *reloader) trees() []string {
	dirs := append([]string(nil), r.sources.PolicyDirs...)
	if r.certDir != "" {
		dirs = append(dirs, r.certDir)
	}
	return dirs
}

// inTree reports whether name is in a policy or certificate directory.
func (r *reloader) inTree(name string) bool {
	for _, d := range r.trees() {
		if rel, err := filepath.Rel(d, name); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// relevant reports whether a file event can change what is loaded. Every
// event in a policy or certificate directory can; in the config file's
// directory only the file itself and a mounted ConfigMap's "..data" swap
// can. Anything else there (a log written next to the config, say) would
// otherwise recompile every policy for nothing.
func (r *reloader) relevant(name string) bool {
	if r.inTree(name) {
		return true
	}
	if r.sources.ConfigFile == "" || filepath.Dir(name) != filepath.Dir(r.sources.ConfigFile) {
		return false
	}
	base := filepath.Base(name)
	return base == filepath.Base(r.sources.ConfigFile) || strings.HasPrefix(base, "..")
}

func (r *reloader) reload(ctx context.Context) {
	log := ctrl.Log.WithName("reload")
	st, err := loader.Load(ctx, r.sources)
	if err != nil {
		r.metrics.Reloaded(false, 0)
		log.Error(err, "reload refused; the previous config and policies stay in force")
		return
	}
	if r.pins != nil {
		if err := r.pins(st); err != nil {
			r.metrics.Reloaded(false, 0)
			log.Error(err, "reload refused; the previous config and policies stay in force")
			return
		}
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
