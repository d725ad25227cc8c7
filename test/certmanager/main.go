// Command certmanager runs the part of cert-manager that Tollgate's chart needs
// in tls.mode=certManager, in one process, for the e2e tests and the node demo:
// the self-signed and CA issuers, the Certificate and CertificateRequest
// controllers, and CA injection into webhook configurations. It is built from
// cert-manager's library packages (pkg/), because its own command modules are
// not served by the Go module proxy. It has no leader election, no webhook and
// no ACME: one instance against a test API server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "certmanager:", err)
		os.Exit(1)
	}
}

type options struct {
	kubeconfig string
	namespace  string
	workers    int
}

func run() error {
	var o options
	fs := flag.NewFlagSet("certmanager", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the API server (required)")
	fs.StringVar(&o.namespace, "namespace", "", "watch only this namespace (empty: all)")
	fs.IntVar(&o.workers, "workers", 2, "workers per controller")
	list := fs.Bool("list", false, "print the controllers this binary runs and exit")
	klog.InitFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *list {
		names := controllerNames()
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
		return nil
	}
	if o.kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 2)
	go func() { errc <- runControllers(ctx, o) }()
	go func() { errc <- runInjector(ctx, o) }()
	// Either half stopping is the end of the process: the tests need both.
	err := <-errc
	stop()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return err
}
