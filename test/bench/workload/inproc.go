package workload

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/metrics"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

// Facts are the workload namespace's objects in memory. With Copy set,
// every read deep-copies, as reading the informer cache without
// client.UnsafeDisableDeepCopy does; without it the stored objects are
// handed out, as the cache does with it.
type Facts struct {
	NS             *corev1.Namespace
	LimitRangeList []corev1.LimitRange
	QuotaList      []corev1.ResourceQuota
	Copy           bool
}

// NewFacts is the workload namespace (5 LimitRanges, 10 quotas).
func NewFacts(copyOnRead bool) *Facts {
	return &Facts{NS: NamespaceObject(Namespace), LimitRangeList: LimitRanges(Namespace), QuotaList: Quotas(Namespace), Copy: copyOnRead}
}

// Namespace implements pipeline.Facts.
func (f *Facts) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if name != f.NS.Name {
		return nil, nil
	}
	if f.Copy {
		return f.NS.DeepCopy(), nil
	}
	return f.NS, nil
}

// LimitRanges implements pipeline.Facts.
func (f *Facts) LimitRanges(_ context.Context, namespace string) ([]corev1.LimitRange, error) {
	if namespace != f.NS.Name {
		return nil, nil
	}
	if !f.Copy {
		return f.LimitRangeList, nil
	}
	out := make([]corev1.LimitRange, len(f.LimitRangeList))
	for i := range f.LimitRangeList {
		f.LimitRangeList[i].DeepCopyInto(&out[i])
	}
	return out, nil
}

// Quotas implements pipeline.Facts.
func (f *Facts) Quotas(_ context.Context, namespace string) ([]corev1.ResourceQuota, error) {
	if namespace != f.NS.Name {
		return nil, nil
	}
	if !f.Copy {
		return f.QuotaList, nil
	}
	out := make([]corev1.ResourceQuota, len(f.QuotaList))
	for i := range f.QuotaList {
		f.QuotaList[i].DeepCopyInto(&out[i])
	}
	return out, nil
}

// State is the workload config with the shipped policies compiled;
// observer (may be nil) receives policy observations.
func State(ctx context.Context, observer policy.Observer) (*pipeline.State, error) {
	cfg, err := config.Parse([]byte(Config))
	if err != nil {
		return nil, fmt.Errorf("workload config: %w", err)
	}
	engine, err := policy.New(ctx, policies.FS)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	engine.Observer = observer
	if err := engine.Validate(cfg.Policies); err != nil {
		return nil, fmt.Errorf("workload config: %w", err)
	}
	return &pipeline.State{Config: cfg, Policies: engine}, nil
}

// Handlers are Tollgate's two webhooks built as `tollgate serve` builds
// them (pipeline with a ledger, metrics recorder on a private registry),
// over facts instead of the informer cache.
type Handlers struct {
	Mutate, Validate http.Handler
	Pipeline         *pipeline.Pipeline
	Registry         *prometheus.Registry
}

// NewHandlers builds the handlers over facts.
func NewHandlers(ctx context.Context, facts pipeline.Facts) (*Handlers, error) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		return nil, err
	}
	st, err := State(ctx, m.ObservePolicy)
	if err != nil {
		return nil, err
	}
	p := pipeline.New(facts, st, pipeline.Options{OwnNamespace: "tollgate-system", Ledger: quota.NewLedger(time.Now)})
	return &Handlers{
		Mutate:   tgwebhook.HTTP{Handler: &tgwebhook.PodMutator{Pipeline: p, Recorder: m}},
		Validate: tgwebhook.HTTP{Handler: &tgwebhook.PodValidator{Pipeline: p, Recorder: m}},
		Pipeline: p,
		Registry: reg,
	}, nil
}

// Final is the Pod the validating webhook sees for kind: the mutating
// webhook's output (defaults applied) for the same review.
func Final(ctx context.Context, p *pipeline.Pipeline, kind Kind, namespace, name string) (*corev1.Pod, error) {
	ar := Review(Pod(kind, namespace, name), "final", true)
	out, err := p.Review(ctx, ar.Request)
	if err != nil {
		return nil, err
	}
	return out.Object, nil
}

// Request is one prepared request of the mix.
type Request struct {
	Kind Kind
	// Path is the webhook path, /mutate-v1-pod or /validate-v1-pod.
	Path string
	Body []byte
	// WantAllowed is the verdict the webhook must give.
	WantAllowed bool
}

// Mix is the request mix: for every kind, the mutating review of the Pod
// as created and the validating review of the Pod after defaults, as the
// API server sends them for one create. All are dry runs (see Review).
func Mix(ctx context.Context, p *pipeline.Pipeline, namespace string) ([]Request, error) {
	var out []Request
	for _, k := range Kinds {
		name := "checkout-" + string(k)
		final, err := Final(ctx, p, k, namespace, name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		allowed := k == Good || k == NeedsDefaults
		out = append(out,
			Request{Kind: k, Path: tgwebhook.MutatePodPath, Body: ReviewJSON(Pod(k, namespace, name), "uid-mutate-"+string(k), true), WantAllowed: true},
			Request{Kind: k, Path: tgwebhook.ValidatePodPath, Body: ReviewJSON(final, "uid-validate-"+string(k), true), WantAllowed: allowed},
		)
	}
	return out, nil
}

// Allowed decodes an AdmissionReview response and reports its verdict.
func Allowed(resp *admissionv1.AdmissionReview) (bool, error) {
	if resp.Response == nil {
		return false, fmt.Errorf("review has no response")
	}
	return resp.Response.Allowed, nil
}
