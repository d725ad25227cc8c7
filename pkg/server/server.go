// Package server is the composition root of `tollgate serve`: it builds the
// manager, its cache of cluster facts, the webhook server, probes, metrics,
// and the reloader of config and policies.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/hookserver"
	"github.com/tollgate-dev/tollgate/pkg/imagepin"
	"github.com/tollgate-dev/tollgate/pkg/loader"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/registry"
	"github.com/tollgate-dev/tollgate/pkg/sigverify"
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
	// ConfigConfigMap and PoliciesConfigMap name the ConfigMaps (in
	// Namespace) mounted as the config file and the first policy
	// directory; /validate-config refuses edits of them that would not load.
	ConfigConfigMap, PoliciesConfigMap string
	// MaxInFlight caps requests evaluated at once (a quarter of it per
	// namespace); 0 is no cap. Deadline bounds one evaluation; 0 is none.
	MaxInFlight int
	Deadline    time.Duration
	// ClientCAFile, when set, requires the API server's client certificate
	// (mutual TLS) signed by a CA in this file, reloaded when it changes.
	ClientCAFile string
	// HTTP2 offers HTTP/2 on the webhook port; off, clients get HTTP/1.1.
	HTTP2 bool
}

// Run serves until ctx is cancelled.
func Run(ctx context.Context, restConfig *rest.Config, opts Options) error {
	log := ctrl.Log.WithName("server")
	m, err := metrics.New(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	regMetrics, err := metrics.NewRegistry(crmetrics.Registry)
	if err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	src := loader.Sources{ConfigFile: opts.ConfigFile, PolicyDirs: opts.PolicyDirs, NoBuiltinPolicies: opts.NoBuiltinPolicies, Observer: m.ObservePolicy}

	// Only the types Tollgate reads: the cached facts (core) and the
	// targets of scale requests (apps, core). client-go's full scheme would
	// be a second copy of one already built for controller-runtime's defaults.
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("build scheme: %w", err)
		}
	}
	var hookServer webhook.Server = hookserver.New(hookserver.Options{
		Host: opts.BindAddress, Port: opts.Port, CertDir: opts.CertDir,
		ClientCAFile: opts.ClientCAFile, HTTP2: opts.HTTP2,
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
	// Pull secrets are read with GET from the API server, never cached.
	src.Lookups = lookups(regMetrics, mgr.GetAPIReader())
	if src.Verifier, err = verifiers(regMetrics, mgr.GetAPIReader()); err != nil {
		return err
	}
	st, loaded := initialLoad(ctx, src, m)
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
		Targets:      tgwebhook.APITargets{Reader: mgr.GetAPIReader()},
	})
	registerHooks(hookServer, p, m, opts, src)

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("add healthz: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", hookServer.StartedChecker()); err != nil {
		return fmt.Errorf("add readyz: %w", err)
	}
	if err := mgr.AddReadyzCheck("cache", cacheSynced(mgr.GetCache(), m)); err != nil {
		return fmt.Errorf("add readyz: %w", err)
	}
	if err := mgr.AddReadyzCheck("config", loaded.check(p)); err != nil {
		return fmt.Errorf("add readyz: %w", err)
	}
	r := &reloader{sources: src, pipeline: p, metrics: m, certDir: opts.CertDir, loaded: loaded}
	if err := mgr.Add(r); err != nil {
		return fmt.Errorf("add reloader: %w", err)
	}
	log.Info("starting", "webhookPort", opts.Port, "namespace", opts.Namespace, "clientCertificateRequired", opts.ClientCAFile != "")
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

// lookups builds the registry lookups of pinning for each loaded config;
// none when pinning is off, so no registry is ever contacted.
func lookups(obs registry.Observer, secrets client.Reader) func(*config.Config) (pipeline.ImageLookups, error) {
	return func(cfg *config.Config) (pipeline.ImageLookups, error) {
		l, err := imagepin.Build(cfg, obs, secrets)
		if l == nil || err != nil {
			return nil, err
		}
		return l, nil
	}
}

// verifiers builds the signature verifier of each loaded config over one
// cache that outlives reloads (its keys include the trust configuration);
// none when no trust is configured, so no registry is ever contacted.
func verifiers(obs registry.Observer, secrets client.Reader) (func(*config.Config) (pipeline.Verifier, error), error) {
	sm, err := metrics.NewSignatures(crmetrics.Registry)
	if err != nil {
		return nil, err
	}
	defaults, err := sigverify.Settings{}.Compile("")
	if err != nil {
		return nil, err
	}
	v := &sigverify.Verifier{Cache: sigverify.NewCache(defaults.Cache, sm)}
	return func(cfg *config.Config) (pipeline.Verifier, error) {
		vc := cfg.VerificationConfig()
		if vc == nil || len(vc.Trusts) == 0 {
			return nil, nil
		}
		// A client of its own with no tag cache: a tag is resolved on every
		// admission, since it may have moved (the tag cache is pinning's).
		c, err := registry.New(cfg.Registries, registry.Options{Observer: obs})
		if err != nil {
			return nil, fmt.Errorf("registry client: %w", err)
		}
		remote := &sigverify.Remote{Client: c, Secrets: secrets}
		return &sigverify.Checker{Config: vc, Verifier: v, Registries: remote.Registries}, nil
	}, nil
}

// registerHooks serves the three webhooks, each instrumented and, with a
// tracer, joining the API server's trace.
// initialLoad loads config and policies once at start. A file that does
// not load does not stop the replica: exiting would crash-loop it (and the
// next one) until someone edits the file. It stays up and not ready, says
// why in its log, its readiness check and tollgate_config_valid, and takes
// the file as soon as it loads.
func initialLoad(ctx context.Context, src loader.Sources, m *metrics.Metrics) (*pipeline.State, *loadStatus) {
	log := ctrl.Log.WithName("server")
	loaded := &loadStatus{}
	st, err := loader.Load(ctx, src)
	if err != nil {
		loaded.failed(err)
		m.Reloaded(false, 0)
		log.Error(err, "config and policies do not load; not ready until they do (the files are watched)")
		return nil, loaded
	}
	m.Reloaded(true, float64(time.Now().Unix()))
	log.Info("config and policies loaded", "config", src.ConfigFile, "policies", st.Policies.Policies())
	if err := st.Policies.NotShared(); err != nil {
		log.Info("each policy computes the helper rules on its own (slower)", "reason", err.Error())
	}
	logReplacements(log, m, st.Policies)
	return st, loaded
}

func registerHooks(srv webhook.Server, p *pipeline.Pipeline, m *metrics.Metrics, opts Options, src loader.Sources) {
	handlers := map[string]admission.Handler{
		tgwebhook.MutatePodPath:         &tgwebhook.PodMutator{Pipeline: p, Recorder: m, Tracer: opts.Tracer},
		tgwebhook.ValidatePodPath:       &tgwebhook.PodValidator{Pipeline: p, Recorder: m, Tracer: opts.Tracer},
		tgwebhook.ValidateWorkloadsPath: &tgwebhook.WorkloadValidator{Pipeline: p, Recorder: m, Tracer: opts.Tracer},
	}
	bound := &tgwebhook.Bound{Max: opts.MaxInFlight, Deadline: opts.Deadline, Overloaded: m.Overloaded}
	mode := func() string { return tgwebhook.FailureMode(p) }
	for path, h := range handlers {
		hook := hookNames[path]
		if opts.ClientCAFile == "" {
			h = withheldQuota(h)
		}
		handlers[path] = bound.Wrap(hook, m, mode, untilLoaded(p, hook, m, h))
	}
	// Compiling a ConfigMap's policies is work a caller can ask for too: bounded like the rest.
	handlers[tgwebhook.ValidateConfigPath] = bound.Wrap("validate-config", m, mode, configValidator(opts, src, m))
	for path, h := range handlers {
		var hook http.Handler = tgwebhook.HTTP{Handler: h}
		if opts.Tracer != nil {
			hook = tracing.Propagate(hook)
		}
		srv.Register(path, m.Instrument(path, hook))
	}
}
