package harness

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Forwarder relays TCP from listen (e.g. the host end of a veth pair) to a
// loopback address, so a process in a network namespace reaches a server
// that only listens on the host's 127.0.0.1 (the API server).
type Forwarder struct {
	Addr string // what it listens on, host:port
	l    net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// Forward listens on host:0 and relays every connection to target.
func Forward(host, target string) (*Forwarder, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("forwarder listen on %s: %w", host, err)
	}
	f := &Forwarder{Addr: l.Addr().String(), l: l, open: map[net.Conn]struct{}{}}
	atStopAll(f.Close)
	f.wg.Go(func() { f.accept(target) })
	return f, nil
}

func (f *Forwarder) accept(target string) {
	for {
		c, err := f.l.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				slog.Warn("forwarder accept", "addr", f.Addr, "err", err)
			}
			return
		}
		f.wg.Go(func() { f.relay(c, target) })
	}
}

func (f *Forwarder) relay(c net.Conn, target string) {
	up, err := net.Dial("tcp", target)
	if err != nil {
		slog.Warn("forwarder dial", "target", target, "err", err)
		_ = c.Close()
		return
	}
	if !f.track(c, up) {
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(up, c); _ = up.Close() })
	wg.Go(func() { _, _ = io.Copy(c, up); _ = c.Close() })
	wg.Wait()
	f.mu.Lock()
	delete(f.open, c)
	delete(f.open, up)
	f.mu.Unlock()
}

// track records both ends so Close can cut them; false if already closed.
func (f *Forwarder) track(conns ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.open == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		f.open[c] = struct{}{}
	}
	return true
}

// Close stops listening, cuts open connections and waits for the relays.
func (f *Forwarder) Close() {
	_ = f.l.Close()
	f.mu.Lock()
	for c := range f.open {
		_ = c.Close()
	}
	f.open = nil
	f.mu.Unlock()
	f.wg.Wait()
}
