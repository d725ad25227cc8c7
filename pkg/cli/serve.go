package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tollgate-dev/tollgate/pkg/server"
	"github.com/tollgate-dev/tollgate/pkg/tracing"
	"github.com/tollgate-dev/tollgate/pkg/version"
)

func serveCommand() *cobra.Command {
	opts := server.Options{}
	traceOpts := tracing.Options{Version: version.Version}
	var kubeconfig string
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the mutating and validating admission webhooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if err := checkTracing(cmd.Flags(), traceOpts); err != nil {
				return badInput(err)
			}
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts), zap.WriteTo(cmd.ErrOrStderr())))
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			ctx := ctrl.SetupSignalHandler()
			tp, err := startTracing(ctx, traceOpts)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, stopTracing(tp)) }()
			opts.Tracer = tp.Tracer()
			return server.Run(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&traceOpts.Endpoint, flagTracingEndpoint, "", "OTLP/gRPC collector to send traces to: host:port or http://host:port (plaintext), https://host:port (TLS); empty: tracing off")
	f.Float64Var(&traceOpts.SampleRatio, flagTracingSampleRatio, 1, "share of admission requests traced when the API server sent no trace context (0 to 1); needs --tracing-endpoint")
	f.StringVar(&opts.BindAddress, "bind-address", "", "address the webhook server binds to (empty: all)")
	f.IntVar(&opts.Port, "port", 9443, "webhook server port")
	f.StringVar(&opts.CertDir, "cert-dir", "/etc/tollgate/certs", "directory with tls.crt and tls.key; reloaded when they change")
	f.StringVar(&opts.ClientCAFile, "client-ca-file", "", "PEM CA bundle: require a client certificate signed by it on the webhook port (mutual TLS with the API server); reloaded when it changes. Empty: no client certificate asked for")
	f.BoolVar(&opts.HTTP2, "enable-http2", false, "offer HTTP/2 on the webhook port (off: every client is served HTTP/1.1)")
	f.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint, a port of its own apart from the webhook port ("0" disables it)`)
	f.StringVar(&opts.ProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.StringVar(&opts.ConfigFile, "config", "", "Tollgate config file (hot reloaded); empty uses the built-in defaults")
	f.StringArrayVar(&opts.PolicyDirs, "policies", nil, "extra directory of .rego policies (repeatable; hot reloaded)")
	f.BoolVar(&opts.NoBuiltinPolicies, "no-builtin-policies", false, "do not load the policies shipped in the binary")
	f.IntVar(&opts.MaxInFlight, "max-inflight", 16, "requests evaluated at once by this replica, at most a quarter of them from one namespace; more wait for a slot within the deadline, then are answered as a malfunction (0: no cap)")
	f.DurationVar(&opts.Deadline, "deadline", 4*time.Second, "server-side deadline of one admission request, to keep below the webhook's timeoutSeconds; a late request is answered as a malfunction (0: none)")
	f.StringVar(&opts.ConfigConfigMap, "config-configmap", "", "ConfigMap in --namespace mounted as --config: /validate-config refuses edits of it that would not load")
	f.StringVar(&opts.PoliciesConfigMap, "policies-configmap", "", "ConfigMap in --namespace mounted as the first --policies directory: /validate-config refuses edits of it that would not load")
	f.StringVar(&opts.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "Tollgate's own namespace, never acted on (default $POD_NAMESPACE)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster config)")
	gofs := flag.NewFlagSet("zap", flag.ContinueOnError)
	zapOpts.BindFlags(gofs)
	f.AddGoFlagSet(gofs)
	return cmd
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("find cluster config: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

const (
	flagTracingEndpoint    = "tracing-endpoint"
	flagTracingSampleRatio = "tracing-sample-ratio"
	// tracingFlushTimeout bounds the export of the last spans on exit, well
	// inside the Pod's termination grace period.
	tracingFlushTimeout = 5 * time.Second
)

// checkTracing checks the tracing flags before anything starts, so a bad
// value fails `tollgate serve` with exit 2 and a clear message.
func checkTracing(f *pflag.FlagSet, opts tracing.Options) error {
	if f.Changed(flagTracingEndpoint) && opts.Endpoint == "" {
		return fmt.Errorf("--%s is empty; leave it out to keep tracing off", flagTracingEndpoint)
	}
	if !opts.Enabled() && f.Changed(flagTracingSampleRatio) {
		return fmt.Errorf("--%s has no effect without --%s (tracing is off)", flagTracingSampleRatio, flagTracingEndpoint)
	}
	if err := tracing.CheckSampleRatio(opts.SampleRatio); err != nil {
		return fmt.Errorf("--%s: %w", flagTracingSampleRatio, err)
	}
	if !opts.Enabled() {
		return nil
	}
	if err := tracing.CheckEndpoint(opts.Endpoint); err != nil {
		return fmt.Errorf("--%s: %w", flagTracingEndpoint, err)
	}
	return nil
}

// startTracing starts the provider when tracing is on, and sends the SDK's
// own errors (a collector that cannot be reached) to the log instead of
// stderr's bare log.Print. Off, it touches nothing: no OTEL_* variable is
// read and the OpenTelemetry globals keep their no-op defaults.
func startTracing(ctx context.Context, opts tracing.Options) (*tracing.Provider, error) {
	if !opts.Enabled() {
		return nil, nil
	}
	log := ctrl.Log.WithName("tracing")
	otel.SetLogger(log)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Error(err, "export traces") }))
	tp, err := tracing.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	log.Info("tracing on", "endpoint", opts.Endpoint, "sampleRatio", opts.SampleRatio)
	return tp, nil
}

// stopTracing flushes the spans still queued; ctx of serve is cancelled by then.
func stopTracing(tp *tracing.Provider) error {
	ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
	defer cancel()
	return tp.Shutdown(ctx)
}
