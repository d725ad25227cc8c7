// Package echo is the benchmarks' floor: an admission handler that decodes
// the review and the Pod in it (as Tollgate's handlers do) and allows it,
// served by the same controller-runtime stack as `tollgate serve`, with no
// decision at all. Tollgate's throughput is reported as a ratio to it.
package echo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
)

// Handler decodes the request's Pod with pipeline.Decode and allows it.
type Handler struct{}

// Handle implements admission.Handler.
func (Handler) Handle(_ context.Context, ar admission.Request) admission.Response {
	if _, err := pipeline.Decode(&ar.AdmissionRequest); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	return admission.Allowed("")
}

// Webhook is the echo handler served like Tollgate's (webhook.HTTP decodes
// the AdmissionReview and encodes the answer).
func Webhook() http.Handler { return tgwebhook.HTTP{Handler: Handler{}} }

// Server is a webhook server on loopback.
type Server struct {
	URL    string
	cancel context.CancelFunc
	done   chan error
}

// Serve starts controller-runtime's webhook server (TLS 1.2+, HTTP/2 and
// HTTP/1.1, certificate watched in certDir as tls.crt/tls.key), exactly as
// `tollgate serve` configures it, on 127.0.0.1:port with handlers by path.
func Serve(ctx context.Context, port int, certDir string, handlers map[string]http.Handler) (*Server, error) {
	srv := webhook.NewServer(webhook.Options{
		Host: "127.0.0.1", Port: port, CertDir: certDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }},
	})
	for path, h := range handlers {
		srv.Register(path, h)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Server{URL: fmt.Sprintf("https://127.0.0.1:%d", port), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := srv.StartedChecker()(nil); err == nil {
			return s, nil
		}
		select {
		case err := <-s.done:
			cancel()
			if err == nil {
				err = errors.New("exited")
			}
			return nil, fmt.Errorf("webhook server on port %d: %w", port, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			return nil, fmt.Errorf("webhook server on port %d not serving after 10s", port)
		}
	}
}

// Stop shuts the server down and waits for it (at most 10 s).
func (s *Server) Stop() {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}
