// Package hookserver is the HTTPS server of the admission webhooks: the
// serving certificate reloaded from its directory, optionally the API
// server's client certificate required and verified against a CA file that
// is reloaded too, HTTP/1.1 unless HTTP/2 is asked for, and read timeouts.
// It implements controller-runtime's webhook.Server, whose default server
// sets neither a read timeout nor a reloadable client CA.
package hookserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Timeouts of one connection. An AdmissionReview is read well inside the
// API server's own limit of 30 s per webhook call; a client that trickles
// headers or a body holds a connection no longer than this.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	idleTimeout       = 90 * time.Second
	shutdownTimeout   = 30 * time.Second
)

// Options configure the server.
type Options struct {
	// Host and Port are where it listens; Host empty is every address.
	Host string
	Port int
	// CertDir holds tls.crt and tls.key, reloaded when they change.
	CertDir string
	// ClientCAFile, when set, makes a client certificate signed by one of
	// its CAs a condition of the TLS handshake; the file is reloaded when
	// it changes. Empty: any client may connect.
	ClientCAFile string
	// HTTP2 offers h2 in ALPN. Off, every client is served HTTP/1.1: the
	// API server speaks HTTP/1.1 to webhooks by default, and HTTP/2 brings
	// attack surface (rapid reset, stream floods) a webhook does not need.
	HTTP2 bool
}

// Server serves the registered webhooks over TLS.
type Server struct {
	opts Options
	mux  *http.ServeMux
	// registrar is controller-runtime's server, never started: it registers
	// hooks on mux with its controller_runtime_webhook_* metrics.
	registrar webhook.Server
	mu        sync.Mutex
	addr      string
	started   bool
}

// New returns a server that listens once started.
func New(o Options) *Server {
	mux := http.NewServeMux()
	return &Server{opts: o, mux: mux, registrar: webhook.NewServer(webhook.Options{WebhookMux: mux})}
}

// NeedLeaderElection is false: every replica answers admission requests.
func (s *Server) NeedLeaderElection() bool { return false }

// Register serves hook at path, instrumented as controller-runtime does.
func (s *Server) Register(path string, hook http.Handler) { s.registrar.Register(path, hook) }

// WebhookMux is the mux the webhooks are registered on.
func (s *Server) WebhookMux() *http.ServeMux { return s.mux }

// Addr is the address listened on, once started ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// StartedChecker is a readiness check: ready once the listener is open.
func (s *Server) StartedChecker() healthz.Checker {
	return func(*http.Request) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.started {
			return errors.New("webhook server has not started yet")
		}
		return nil
	}
}

// Start listens and serves until ctx is cancelled, then drains in-flight
// requests for up to 30 s.
func (s *Server) Start(ctx context.Context) error {
	log := ctrl.Log.WithName("webhook-server")
	cfg, err := s.tlsConfig(ctx)
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)), cfg)
	if err != nil {
		return fmt.Errorf("listen for webhooks: %w", err)
	}
	srv := &http.Server{
		Handler:           s.mux,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    1 << 20,
	}
	if !s.opts.HTTP2 {
		// A non-nil empty map keeps net/http from adding h2 on its own.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error(err, "shut down the webhook server")
		}
	}()
	s.mu.Lock()
	s.addr, s.started = ln.Addr().String(), true
	s.mu.Unlock()
	log.Info("serving webhooks", "address", ln.Addr().String(), "http2", s.opts.HTTP2, "clientCertificateRequired", s.opts.ClientCAFile != "")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve webhooks: %w", err)
	}
	<-done
	return nil
}

// tlsConfig loads the serving certificate and, when asked, the client CA,
// and starts watching both.
func (s *Server) tlsConfig(ctx context.Context) (_ *tls.Config, err error) {
	cw, err := certwatcher.New(filepath.Join(s.opts.CertDir, "tls.crt"), filepath.Join(s.opts.CertDir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("load the serving certificate from %s: %w", s.opts.CertDir, err)
	}
	protos := []string{"http/1.1"}
	if s.opts.HTTP2 {
		protos = []string{"h2", "http/1.1"}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: protos, GetCertificate: cw.GetCertificate}
	defer func() {
		if err == nil {
			go func() {
				if err := cw.Start(ctx); err != nil {
					ctrl.Log.WithName("webhook-server").Error(err, "watch the serving certificate")
				}
			}()
		}
	}()
	if s.opts.ClientCAFile == "" {
		return cfg, nil
	}
	cas, err := watchClientCAs(ctx, s.opts.ClientCAFile)
	if err != nil {
		return nil, err
	}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	// Each handshake takes the CA pool in force, so a rotated CA file
	// applies to new connections without a restart.
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := cfg.Clone()
		c.GetConfigForClient = nil
		c.ClientCAs = cas.pool()
		return c, nil
	}
	return cfg, nil
}
