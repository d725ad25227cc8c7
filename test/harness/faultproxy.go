package harness

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault is how the proxy in front of the test registry misbehaves.
type Fault struct {
	// Down refuses connections (the listener is closed).
	Down bool
	// Delay holds every request this long before answering.
	Delay time.Duration
	// Status, when not 0, answers every request with it (429, 503, ...).
	Status int
}

// faultProxy is a TLS reverse proxy on loopback in front of the registry:
// it logs every request (so tests count them) and injects faults.
type faultProxy struct {
	addr   string
	target *url.URL
	tlsCfg *tls.Config
	rp     *httputil.ReverseProxy

	mu       sync.Mutex
	fault    Fault
	requests []string // "METHOD path"
	ln       net.Listener
	srv      *http.Server
}

func startFaultProxy(addr string, target *url.URL, cert tls.Certificate, roots *x509.CertPool) (*faultProxy, error) {
	p := &faultProxy{addr: addr, target: target,
		tlsCfg: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	p.rp = httputil.NewSingleHostReverseProxy(target)
	p.rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, Proxy: nil}
	// The registry's auth challenge names its own address; the proxy is the
	// only address clients know, so keep Host as the client sent it.
	director := p.rp.Director
	p.rp.Director = func(r *http.Request) { host := r.Host; director(r); r.Host = host }
	return p, p.listen()
}

func (p *faultProxy) listen() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("registry proxy: listen %s: %w", p.addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(p.serve), TLSConfig: p.tlsCfg, ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	p.ln, p.srv = ln, srv
	p.mu.Unlock()
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return nil
}

func (p *faultProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, r.Method+" "+r.URL.Path)
	f := p.fault
	p.mu.Unlock()
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// setFault switches the fault; Down closes the listener, and leaving Down
// listens again on the same address.
func (p *faultProxy) setFault(f Fault) error {
	p.mu.Lock()
	wasDown := p.fault.Down
	p.fault = f
	srv := p.srv
	p.mu.Unlock()
	switch {
	case f.Down && !wasDown:
		return srv.Close()
	case !f.Down && wasDown:
		return p.listen()
	}
	return nil
}

// count returns the requests whose method matches (any when "") and whose
// path contains part.
func (p *faultProxy) count(method, part string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.requests {
		m, path, _ := strings.Cut(r, " ")
		if (method == "" || m == method) && strings.Contains(path, part) {
			n++
		}
	}
	return n
}

func (p *faultProxy) reset() {
	p.mu.Lock()
	p.requests = nil
	p.mu.Unlock()
}

func (p *faultProxy) close() {
	p.mu.Lock()
	srv := p.srv
	p.mu.Unlock()
	_ = srv.Close()
}
