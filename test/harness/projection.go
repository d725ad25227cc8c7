package harness

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Projection keeps a directory in step with a Secret or ConfigMap the way
// the kubelet does for a volume: each version is written to a fresh
// timestamped directory and swapped in by renaming the ..data symlink, and
// every key is a symlink through ..data. A server watching such a directory
// sees exactly what it would see in a Pod, only sooner (every 200ms instead
// of the kubelet's sync period).
type Projection struct {
	Dir    string
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	synced int // versions written
}

// ProjectSecret mirrors Secret ns/name into dir; it returns once the first
// version is on disk.
func ProjectSecret(ctx context.Context, c kubernetes.Interface, ns, name, dir string) (*Projection, error) {
	return project(ctx, dir, func(ctx context.Context) (map[string][]byte, error) {
		s, err := c.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get secret %s/%s: %w", ns, name, err)
		}
		return s.Data, nil
	})
}

// ProjectConfigMap mirrors ConfigMap ns/name into dir, like ProjectSecret.
func ProjectConfigMap(ctx context.Context, c kubernetes.Interface, ns, name, dir string) (*Projection, error) {
	return project(ctx, dir, func(ctx context.Context) (map[string][]byte, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get configmap %s/%s: %w", ns, name, err)
		}
		out := map[string][]byte{}
		for k, v := range cm.Data {
			out[k] = []byte(v)
		}
		return out, nil
	})
}

func project(ctx context.Context, dir string, get func(context.Context) (map[string][]byte, error)) (*Projection, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("projection dir: %w", err)
	}
	data, err := get(ctx)
	if err != nil {
		return nil, err
	}
	if err := writeVersion(dir, data, 0); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &Projection{Dir: dir, cancel: cancel, done: make(chan struct{}), synced: 1}
	atStopAll(p.Stop)
	go p.loop(pctx, data, get)
	return p, nil
}

func (p *Projection) loop(ctx context.Context, last map[string][]byte, get func(context.Context) (map[string][]byte, error)) {
	defer close(p.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, err := get(ctx)
		if err != nil || maps.EqualFunc(data, last, bytes.Equal) {
			continue // a missing object keeps the last version, as the kubelet does
		}
		p.mu.Lock()
		err = writeVersion(p.Dir, data, p.synced)
		if err == nil {
			p.synced++
			last = data
		}
		p.mu.Unlock()
		if err != nil {
			slog.Warn("projection", "dir", p.Dir, "err", err)
		}
	}
}

// Versions is how many versions have been written so far.
func (p *Projection) Versions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.synced
}

// Stop ends the mirroring; the files stay.
func (p *Projection) Stop() {
	p.cancel()
	<-p.done
}

// writeVersion writes data to dir/..<n>, points ..data at it with one
// rename, and makes sure every key is a symlink through ..data.
func writeVersion(dir string, data map[string][]byte, n int) error {
	version := "..v" + strconv.Itoa(n)
	vdir := filepath.Join(dir, version)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return fmt.Errorf("projection version dir: %w", err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(vdir, k), v, 0o600); err != nil {
			return fmt.Errorf("projection write %s: %w", k, err)
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(version, tmp); err != nil {
		return fmt.Errorf("projection symlink: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		return fmt.Errorf("projection swap: %w", err)
	}
	for k := range data {
		link := filepath.Join(dir, k)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", k), link); err != nil {
			return fmt.Errorf("projection key link %s: %w", k, err)
		}
	}
	if n > 0 {
		_ = os.RemoveAll(filepath.Join(dir, "..v"+strconv.Itoa(n-1)))
	}
	return nil
}
