package cli

import (
	"flag"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tollgate-dev/tollgate/pkg/server"
)

func serveCommand() *cobra.Command {
	opts := server.Options{}
	var kubeconfig string
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the mutating and validating admission webhooks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts), zap.WriteTo(cmd.ErrOrStderr())))
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			ctx := ctrl.SetupSignalHandler()
			return server.Run(ctx, cfg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.BindAddress, "bind-address", "", "address the webhook server binds to (empty: all)")
	f.IntVar(&opts.Port, "port", 9443, "webhook server port")
	f.StringVar(&opts.CertDir, "cert-dir", "/etc/tollgate/certs", "directory with tls.crt and tls.key; reloaded when they change")
	f.StringVar(&opts.MetricsBindAddress, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint ("0" disables it)`)
	f.StringVar(&opts.ProbeBindAddress, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.StringVar(&opts.ConfigFile, "config", "", "Tollgate config file (hot reloaded); empty uses the built-in defaults")
	f.StringArrayVar(&opts.PolicyDirs, "policies", nil, "extra directory of .rego policies (repeatable; hot reloaded)")
	f.BoolVar(&opts.NoBuiltinPolicies, "no-builtin-policies", false, "do not load the policies shipped in the binary")
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
