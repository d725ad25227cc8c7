package hookserver

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	ctrl "sigs.k8s.io/controller-runtime"
)

// pollInterval backs up the file watch: a mounted ConfigMap or Secret is
// swapped through symlinks, and some volume types send no events at all.
const pollInterval = 10 * time.Second

// clientCAs is the pool of CAs a client certificate must chain to, as last
// loaded from its file. A file that stops loading keeps the last good pool.
type clientCAs struct {
	file string
	cur  atomic.Pointer[x509.CertPool]
	raw  []byte
}

// watchClientCAs loads file, which must hold at least one PEM certificate,
// and reloads it when it changes until ctx is done.
func watchClientCAs(ctx context.Context, file string) (*clientCAs, error) {
	c := &clientCAs{file: file}
	if _, err := c.load(); err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch client CA file %s: %w", file, err)
	}
	// The directory, not the file: a kubelet update replaces the file by rename.
	if err := w.Add(filepath.Dir(file)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watch client CA file %s: %w", file, err)
	}
	go c.run(ctx, w)
	return c, nil
}

func (c *clientCAs) pool() *x509.CertPool { return c.cur.Load() }

// load reads the file and swaps the pool in when its content changed.
func (c *clientCAs) load() (changed bool, err error) {
	raw, err := os.ReadFile(c.file)
	if err != nil {
		return false, fmt.Errorf("read client CA file: %w", err)
	}
	if bytes.Equal(raw, c.raw) {
		return false, nil
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(raw) {
		return false, fmt.Errorf("client CA file %s holds no PEM certificate", c.file)
	}
	c.raw = raw
	c.cur.Store(p)
	return true, nil
}

func (c *clientCAs) run(ctx context.Context, w *fsnotify.Watcher) {
	defer func() { _ = w.Close() }()
	log := ctrl.Log.WithName("webhook-server")
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-w.Events:
			if !ok {
				return
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			log.Error(err, "watch client CA file", "file", c.file)
			continue
		case <-tick.C:
		}
		changed, err := c.load()
		if err != nil {
			log.Error(err, "client CA file does not load; the previous CAs stay in force", "file", c.file)
			continue
		}
		if changed {
			log.Info("client CA file reloaded", "file", c.file)
		}
	}
}
