package main

import (
	"context"
	"fmt"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// runInjector fills caBundle of mutating and validating webhook
// configurations annotated with cert-manager.io/inject-ca-from (a
// Certificate) or inject-ca-from-secret, and keeps it current.
func runInjector(ctx context.Context, o options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("injector kubeconfig: %w", err)
	}
	cfg.UserAgent = "tollgate-test-certmanager-cainjector"
	ctrl.SetLogger(klog.NewKlogr())

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("injector scheme: %w", err)
	}
	if err := cmapi.AddToScheme(scheme); err != nil {
		return fmt.Errorf("injector scheme: %w", err)
	}
	opts := ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		LeaderElection:         false,
	}
	if o.namespace != "" {
		opts.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{o.namespace: {}}}
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("injector manager: %w", err)
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    o.namespace,
		EnableCertificatesDataSource: true,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   true,
			cainjector.ValidatingWebhookConfigurationName: true,
		},
	})
	if err != nil {
		return fmt.Errorf("register CA injectors: %w", err)
	}
	klog.InfoS("starting CA injector", "kinds", "mutating and validating webhook configurations")
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("CA injector: %w", err)
	}
	return nil
}
