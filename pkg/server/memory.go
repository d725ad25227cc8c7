package server

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
)

// defaultGCPercent replaces Go's GOGC=100 when GOGC is unset. Tollgate's
// live heap is mostly the informer cache: long-lived, and growing only with
// the cluster. An admission's garbage is small (about 0.5 MB) and short-lived.
// At 100 the heap grows to twice the cache before each collection; at 50 to
// one and a half times, for about one more collection per twenty admissions.
// Measured with 5,000 namespaces: 100 MiB resident at 100, 90 MiB at 50.
const defaultGCPercent = 50

// tuneGC applies Tollgate's GC defaults where the user chose none: GOGC,
// and a soft memory limit from the container's (see memoryLimit).
func tuneGC(fsys fs.FS, getenv func(string) string) {
	log := ctrl.Log.WithName("server")
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
		log.V(1).Info("GOGC unset, GC percent set", "percent", defaultGCPercent)
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
