package harness

import (
	"fmt"
	"net"
	"sync"
)

var (
	portsMu sync.Mutex
	handed  = map[int]bool{}
)

// FreePort returns a loopback TCP port nobody listens on. Ports already handed
// out by this process are never handed out again, so two components started
// in a row cannot race for the same port.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find free port: %w", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if !handed[p] {
			handed[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("find free port: no unused port after 50 tries")
}

// PortBound reports whether something listens on 127.0.0.1:port.
func PortBound(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return true
	}
	_ = l.Close()
	return false
}

// HandedPorts lists every port FreePort returned, for leak checks.
func HandedPorts() []int {
	portsMu.Lock()
	defer portsMu.Unlock()
	out := make([]int, 0, len(handed))
	for p := range handed {
		out = append(out, p)
	}
	return out
}
