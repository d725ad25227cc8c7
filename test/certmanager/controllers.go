package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	cmcontroller "github.com/cert-manager/cert-manager/pkg/controller"
	"k8s.io/klog/v2"

	// Each import registers its controller (or issuer type) by name.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// wanted are the controllers the chart's objects need: Issuers become Ready,
// a Certificate is turned into an approved CertificateRequest, signed by the
// self-signed or CA issuer, written to its Secret, and renewed on time.
var wanted = []string{
	"issuers",
	"clusterissuers",
	"certificaterequests-approver",
	"certificaterequests-issuer-selfsigned",
	"certificaterequests-issuer-ca",
	"certificates-trigger",
	"certificates-key-manager",
	"certificates-request-manager",
	"certificates-readiness",
	"certificates-issuing",
	"certificates-revision-manager",
}

func controllerNames() []string {
	var names []string
	for n := range cmcontroller.Known() {
		names = append(names, n)
	}
	return names
}

func contextOptions(o options) cmcontroller.ContextOptions {
	return cmcontroller.ContextOptions{
		Kubeconfig:         o.kubeconfig,
		KubernetesAPIQPS:   50,
		KubernetesAPIBurst: 100,
		Namespace:          o.namespace,
		IssuerOptions: cmcontroller.IssuerOptions{
			// Where ClusterIssuers read their Secrets; cert-manager's usual default.
			ClusterResourceNamespace: "cert-manager",
		},
		CertificateOptions: cmcontroller.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: time.Second,
		},
	}
}

// runControllers builds every wanted controller on one shared set of
// informers, starts the informers and runs the controllers until ctx ends.
func runControllers(ctx context.Context, o options) error {
	factory, err := cmcontroller.NewContextFactory(ctx, contextOptions(o))
	if err != nil {
		return fmt.Errorf("controller context: %w", err)
	}
	known := cmcontroller.Known()
	ctrls := make(map[string]cmcontroller.Interface, len(wanted))
	for _, name := range wanted {
		build, ok := known[name]
		if !ok {
			return fmt.Errorf("controller %q is not compiled in", name)
		}
		c, err := build(factory)
		if err != nil {
			return fmt.Errorf("build controller %s: %w", name, err)
		}
		ctrls[name] = c
	}
	// Informers are registered by the constructors above, so start them after.
	shared, err := factory.Build("informers")
	if err != nil {
		return fmt.Errorf("informer context: %w", err)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	var wg sync.WaitGroup
	errs := make(chan error, len(ctrls))
	for name, c := range ctrls {
		wg.Go(func() {
			klog.InfoS("starting controller", "controller", name)
			if err := c.Run(o.workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %s: %w", name, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
