package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/test/bench/echo"
	"github.com/tollgate-dev/tollgate/test/bench/workload"
)

// cmdServe serves the echo floor or Tollgate's handlers over the workload
// facts until SIGTERM/SIGINT. It runs as a child of `loadgen http`, so the
// server does not share a Go runtime (or, with -pin, a CPU) with the client.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	handler := fs.String("handler", "echo", "echo | tollgate")
	port := fs.Int("port", 0, "port on 127.0.0.1")
	certDir := fs.String("cert-dir", "", "directory with tls.crt and tls.key")
	_ = fs.Parse(args)
	if *port == 0 || *certDir == "" {
		return fmt.Errorf("serve: -port and -cert-dir are required")
	}
	// Like `tollgate serve` at its default level: per-request V(1) logs off.
	ctrllog.SetLogger(logr.Discard())
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	handlers := map[string]http.Handler{}
	switch *handler {
	case "echo":
		handlers[webhook.MutatePodPath] = echo.Webhook()
		handlers[webhook.ValidatePodPath] = echo.Webhook()
	case "tollgate":
		h, err := workload.NewHandlers(ctx, workload.NewFacts(false))
		if err != nil {
			return err
		}
		handlers[webhook.MutatePodPath] = h.Mutate
		handlers[webhook.ValidatePodPath] = h.Validate
	default:
		return fmt.Errorf("serve: unknown handler %q", *handler)
	}
	s, err := echo.Serve(ctx, *port, *certDir, handlers)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "serving %s on %s\n", *handler, s.URL)
	<-ctx.Done()
	s.Stop()
	return nil
}
