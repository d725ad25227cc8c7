package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

// GC pacing when GOGC is unset. Tollgate's live heap is mostly the informer
// cache: long-lived, growing only with the cluster, while an admission's
// garbage (a few hundred KB) dies at once. Go's GOGC=100 lets the heap grow
// by the live size before collecting: in a small cluster that collects every
// few dozen admissions, and the marking was about a third of Tollgate's CPU
// per admission under load; with 5,000 namespaces it doubles a large cache.
// So the GC gets a fixed headroom over the live heap instead, within bounds:
// on the load benchmark GOGC 50 / 100 / 300 cost 857 / 653 / 569 µs of CPU
// per admission; paced, 583 µs, and 97 MiB resident with 5,000 namespaces.
const (
	gcHeadroom   = 16 << 20 // bytes the heap may grow past the live heap before a collection
	minGCPercent = 50       // a large cache still gets half its size as headroom
	maxGCPercent = 400      // a tiny heap does not wait for 16 MiB of garbage
	gcPacePeriod = time.Second
)

// gcPercentFor is the GC percent that gives live bytes of live heap the
// headroom above, within [minGCPercent, maxGCPercent].
func gcPercentFor(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	p := int(100 * uint64(gcHeadroom) / live)
	return min(max(p, minGCPercent), maxGCPercent)
}

// liveHeapMetric is the heap the last GC found live.
const liveHeapMetric = "/gc/heap/live:bytes"

// paceGC keeps the GC percent at gcPercentFor(live heap) until ctx ends,
// reading the live heap once per period. It changes the percent only when
// it moves by a tenth, so a steady heap leaves the pacer alone.
func paceGC(ctx context.Context, period time.Duration) {
	sample := []metrics.Sample{{Name: liveHeapMetric}}
	current := -1
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := gcPercentFor(sample[0].Value.Uint64()); current < 0 || absDiff(p, current)*10 > current {
				debug.SetGCPercent(p)
				current = p
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

// tuneGC applies Tollgate's GC defaults where the user chose none: pacing
// by live heap (see gcHeadroom) unless GOGC is set, and a soft memory limit
// from the container's (see memoryLimit) unless GOMEMLIMIT is set.
func tuneGC(ctx context.Context, fsys fs.FS, getenv func(string) string) {
	log := ctrl.Log.WithName("server")
	if getenv("GOGC") == "" {
		go paceGC(ctx, gcPacePeriod)
		log.V(1).Info("GOGC unset: GC paced by live heap", "headroomBytes", gcHeadroom, "minPercent", minGCPercent, "maxPercent", maxGCPercent)
	}
	limit, err := memoryLimit(fsys, getenv)
	if err != nil {
		log.Error(err, "cannot read the cgroup memory limit; no Go soft memory limit is set")
		return
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		log.Info("Go soft memory limit set from the container's memory limit (GOMEMLIMIT unset)", "bytes", limit, "ratio", memoryLimitRatio)
	}
}

// memoryLimitRatio is the share of the container's memory limit that
// becomes the Go soft memory limit when GOMEMLIMIT is unset. The rest is
// left for what the Go runtime does not count: the binary's mapped pages
// (about 45 MiB of OPA, client-go and the API types) and the kernel's.
const memoryLimitRatio = 0.9

// noLimit is the smallest value cgroup v1 uses to mean "unlimited"
// (9223372036854771712 on 4 KiB pages); anything above it is no limit.
const noLimit = 1 << 62

// memoryLimit returns the soft memory limit to set: 0 when GOMEMLIMIT is
// set (the user's choice stands) or when the process has no cgroup memory
// limit. Without it the GC lets the heap grow to twice the live data (the
// informer cache, mostly) before collecting, whatever the container allows.
// fsys is the root file system ("/" when serving); paths are read from
// /proc/self/cgroup so a container without a cgroup namespace finds its own
// cgroup, not the host's.
func memoryLimit(fsys fs.FS, getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := cgroupMemoryLimit(fsys)
	if err != nil || limit <= 0 || limit >= noLimit {
		return 0, err
	}
	return int64(float64(limit) * memoryLimitRatio), nil
}

// cgroupMemoryLimit reads the memory limit of this process's cgroup (v2
// memory.max, else v1 memory.limit_in_bytes); 0 means none.
func cgroupMemoryLimit(fsys fs.FS) (int64, error) {
	f, err := fsys.Open("proc/self/cgroup")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // not Linux
	}
	if err != nil {
		return 0, fmt.Errorf("read cgroup membership: %w", err)
	}
	defer func() { _ = f.Close() }()
	var candidates []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		dir := strings.TrimPrefix(path.Clean(parts[2]), "/")
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = append(candidates, path.Join("sys/fs/cgroup", dir, "memory.max"), "sys/fs/cgroup/memory.max")
		case hasController(parts[1], "memory"):
			candidates = append(candidates, path.Join("sys/fs/cgroup/memory", dir, "memory.limit_in_bytes"), "sys/fs/cgroup/memory/memory.limit_in_bytes")
		}
	}
	if err := s.Err(); err != nil {
		return 0, fmt.Errorf("read cgroup membership: %w", err)
	}
	for _, name := range candidates {
		b, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", name, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s %q: %w", name, v, err)
		}
		return n, nil
	}
	return 0, nil
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// rootFS is the file system memoryLimit reads when serving.
func rootFS() fs.FS { return os.DirFS("/") }
