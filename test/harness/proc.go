package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Process is one child started by the harness, in its own process group so
// everything it forks is stopped with it.
type Process struct {
	Name    string
	PID     int
	LogPath string

	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	err     error
	once    sync.Once
}

var (
	procsMu sync.Mutex
	procs   = map[int]*Process{}
	started []int // every process group ever started, for leak checks
)

// StartProcess runs bin with args, logging stdout and stderr to dir/name.log.
func StartProcess(name, dir, bin string, args []string, env []string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(childEnv(), env...)
	// Own process group: Stop signals the whole group. Pdeathsig is a safety
	// net should the harness itself be killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{Name: name, PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, started: time.Now(), done: make(chan struct{})}
	procsMu.Lock()
	procs[p.PID] = p
	started = append(started, p.PID)
	procsMu.Unlock()
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	slog.Debug("started", "process", name, "pid", p.PID, "log", logPath)
	return p, nil
}

// childEnv is the environment minus proxy settings: every child talks to
// loopback only, and a proxy must never see that traffic.
func childEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		switch {
		case hasPrefixFold(kv, "http_proxy="), hasPrefixFold(kv, "https_proxy="), hasPrefixFold(kv, "all_proxy="), hasPrefixFold(kv, "no_proxy="):
			continue
		}
		out = append(out, kv)
	}
	return append(out, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		a, b := s[i], prefix[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// Exited reports whether the process has exited, and with what error.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace, and
// waits for the process to be reaped. It is safe to call more than once.
func (p *Process) Stop(grace time.Duration) {
	p.once.Do(func() {
		_ = syscall.Kill(-p.PID, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			slog.Warn("process did not stop on SIGTERM; killing", "process", p.Name, "pid", p.PID)
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
			<-p.done
		}
		// Anything left in the group (forked helpers) goes too. A killed
		// child lingers until its new parent reaps it, so wait (bounded)
		// until the group is really gone.
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if err := syscall.Kill(-p.PID, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
		}
		procsMu.Lock()
		delete(procs, p.PID)
		procsMu.Unlock()
	})
}

// Tail returns the last n bytes of the process log, for error messages.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

var (
	cleanupsMu sync.Mutex
	cleanups   []func()
)

// atStopAll registers f (which must be safe to call twice) to run first
// in StopAll, so a signal also removes temp dirs, not only processes.
func atStopAll(f func()) {
	cleanupsMu.Lock()
	cleanups = append(cleanups, f)
	cleanupsMu.Unlock()
}

// StopAll stops every process still running, newest first (so tollgate
// goes before the API server, and the API server before etcd), then runs
// the registered cleanups, newest first.
func StopAll() {
	procsMu.Lock()
	list := make([]*Process, 0, len(procs))
	for _, p := range procs {
		list = append(list, p)
	}
	procsMu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].started.After(list[j].started) })
	for _, p := range list {
		p.Stop(10 * time.Second)
	}
	cleanupsMu.Lock()
	fs := cleanups
	cleanups = nil
	cleanupsMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Leftovers lists the process groups started by this process that still
// have a live member. Empty means everything was cleaned up.
func Leftovers() []int {
	procsMu.Lock()
	defer procsMu.Unlock()
	var alive []int
	for _, pgid := range started {
		if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
			alive = append(alive, pgid)
		}
	}
	return alive
}

// OnSignal runs cleanup once on SIGINT or SIGTERM and then exits with
// status 130/143. The returned stop func uninstalls the handler.
func OnSignal(cleanup func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-ch:
			slog.Info("signal received; cleaning up", "signal", sig.String())
			cleanup()
			StopAll()
			code := 130
			if sig == syscall.SIGTERM {
				code = 143
			}
			os.Exit(code)
		case <-ctx.Done():
		}
	}()
	return func() { signal.Stop(ch); cancel() }
}

// Running lists the processes started by the harness that are still running.
func Running() []*Process {
	procsMu.Lock()
	defer procsMu.Unlock()
	out := make([]*Process, 0, len(procs))
	for _, p := range procs {
		out = append(out, p)
	}
	return out
}
