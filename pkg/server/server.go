// Package server is the composition root of `tollgate serve`: it builds the
// manager, its cache of cluster facts, the webhook server, probes, metrics,
// and the reloader of config and policies.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/imagepin"
	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/tracing"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
)

// Options are the flags of `tollgate serve`.
type Options struct {
	BindAddress        string
	Port               int
	CertDir            string
	MetricsBindAddress string
	ProbeBindAddress   string
	ConfigFile         string
	PolicyDirs         []string
	NoBuiltinPolicies  bool
	// Namespace is Tollgate's own namespace, never acted on.
	Namespace string
	// Tracer, when set, traces each admission request and joins the API
	// server's trace from its traceparent header; nil is tracing off.
	Tracer trace.Tracer
}

// Run serves until ctx is cancelled.
func Run(ctx context.Context, restConfig *rest.Config, opts Options) error {
	log := ctrl.Log.WithName("server")
	tuneGC(ctx, rootFS(), os.Getenv)
	m, err := metrics.New(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	src := loader.Sources{ConfigFile: opts.ConfigFile, PolicyDirs: opts.PolicyDirs, NoBuiltinPolicies: opts.NoBuiltinPolicies, Observer: m.ObservePolicy}
	st, err := loader.Load(ctx, src)
	if err != nil {
		return fmt.Errorf("initial load: %w", err)
	}
	m.Reloaded(true, float64(time.Now().Unix()))
	log.Info("config and policies loaded", "config", opts.ConfigFile, "policies", st.Policies.Policies())

	// Only the types Tollgate reads: the cached facts (core) and the
	// targets of scale requests (apps, core). client-go's full scheme would
	// be a second copy of one already built for controller-runtime's defaults.
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("build scheme: %w", err)
		}
	}
	hookServer := webhook.NewServer(webhook.Options{
		Host: opts.BindAddress, Port: opts.Port, CertDir: opts.CertDir,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.MinVersion = tls.VersionTLS12 }},
	})
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsBindAddress},
		HealthProbeBindAddress: opts.ProbeBindAddress,
		WebhookServer:          hookServer,
		// Only what decisions read is cached, without managed fields and with
		// identical resource lists shared, to keep memory flat with many namespaces.
		Cache: cache.Options{DefaultTransform: cacheTransform()},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	// The manager only runs a webhook server that was asked for through it.
	hookServer = mgr.GetWebhookServer()
	for _, obj := range []client.Object{&corev1.Namespace{}, &corev1.LimitRange{}, &corev1.ResourceQuota{}} {
		// Start informers now, so the first admission request does not wait for a sync.
		if _, err := mgr.GetCache().GetInformer(ctx, obj, cache.BlockUntilSynced(false)); err != nil {
			return fmt.Errorf("start informer for %T: %w", obj, err)
		}
	}

	facts := cluster.Cache{Reader: mgr.GetCache()}
	p := pipeline.New(facts, st, pipeline.Options{
		OwnNamespace: opts.Namespace,
		Ledger:       quota.NewLedger(time.Now),
	})
	regMetrics, err := metrics.NewRegistry(crmetrics.Registry)
	if err != nil {
		return err
	}
	pins := &imagepin.Holder{}
	buildPins := func(st *pipeline.State) error {
		pinner, err := imagepin.Build(st.Config, regMetrics, facts, mgr.GetAPIReader())
		if err != nil {
			return err
		}
		pins.Store(pinner)
		return nil
	}
	if err := buildPins(st); err != nil {
		return fmt.Errorf("pinning: %w", err)
	}
	handlers := map[string]admission.Handler{
		tgwebhook.MutatePodPath:   &tgwebhook.PodMutator{Pipeline: p, Recorder: m, Tracer: opts.Tracer, Pins: pins},
		tgwebhook.ValidatePodPath: &tgwebhook.PodValidator{Pipeline: p, Recorder: m, Tracer: opts.Tracer},
		tgwebhook.ValidateWorkloadsPath: &tgwebhook.WorkloadValidator{
			Pipeline: p, Facts: facts, Targets: tgwebhook.APITargets{Reader: mgr.GetAPIReader()},
			OwnNamespace: opts.Namespace, Recorder: m, Tracer: opts.Tracer,
		},
	}
	for path, h := range handlers {
		var hook http.Handler = &admission.Webhook{Handler: h}
		if opts.Tracer != nil {
			hook = tracing.Propagate(hook)
		}
		hookServer.Register(path, m.Instrument(path, hook))
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("add healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", hookServer.StartedChecker()); err != nil {
		return fmt.Errorf("add readyz: %w", err)
	}
	if err := mgr.AddReadyzCheck("cache", cacheSynced(mgr.GetCache(), m)); err != nil {
		return fmt.Errorf("add readyz: %w", err)
	}
	r := &reloader{sources: src, pipeline: p, metrics: m, certDir: opts.CertDir, pins: buildPins}
	if err := mgr.Add(r); err != nil {
		return fmt.Errorf("add reloader: %w", err)
	}
	log.Info("starting", "webhookPort", opts.Port, "namespace", opts.Namespace)
	if err := mgr.Start(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("run manager: %w", err)
	}
	return nil
}

// cacheSynced is a readiness check: not ready until the informers have synced.
func cacheSynced(c cache.Cache, m *metrics.Metrics) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), 500*time.Millisecond)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("cache not synced")
		}
		m.CacheSynced()
		return nil
	}
}

// cacheTransform strips managed fields and the fields no decision reads,
// then shares identical resource lists and strings between cached objects
// (safe: nothing mutates them).
func cacheTransform() toolscache.TransformFunc {
	intern := cluster.NewInterner(4096)
	steps := []toolscache.TransformFunc{cache.TransformStripManagedFields(), cluster.Slim, intern.Transform}
	return func(obj any) (any, error) {
		for _, step := range steps {
			out, err := step(obj)
			if err != nil {
				return nil, fmt.Errorf("transform %T for the cache: %w", obj, err)
			}
			obj = out
		}
		return obj, nil
	}
}
