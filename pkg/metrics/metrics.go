// Package metrics defines Tollgate's Prometheus metrics, registered in
// controller-runtime's registry so they are served beside its own
// webhook request metrics. Every label has a bounded set of values.
package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Metrics implements webhook.Recorder and observes policies and reloads.
type Metrics struct {
	decisions      *prometheus.CounterVec
	reasons        *prometheus.CounterVec
	warnings       *prometheus.CounterVec
	malfunctions   *prometheus.CounterVec
	policyDuration *prometheus.HistogramVec
	policyResults  *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	reloadSuccess  prometheus.Gauge
	configValid    prometheus.Gauge
	overload       *prometheus.CounterVec
	generation     prometheus.Gauge
	certExpiry     prometheus.Gauge
	cacheSynced    prometheus.Gauge
	quota          *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	replaced       *prometheus.GaugeVec
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_decisions_total", Help: "Admission decisions by webhook and outcome.",
		}, []string{"webhook", "allowed"}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_denial_reasons_total", Help: "Reasons in denials, by reason code (quota.exceeded, limits.max, policy.<name>, ...).",
		}, []string{"webhook", "code"}),
		warnings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_warnings_total", Help: "Admission warnings returned, by webhook.",
		}, []string{"webhook"}),
		malfunctions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_errors_total", Help: "Requests answered with an error (bad request or internal failure); the webhook's failurePolicy decided their fate.",
		}, []string{"webhook"}),
		policyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_policy_evaluation_seconds", Help: "Time to evaluate one policy for one request.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .25},
		}, []string{"policy"}),
		policyResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_policy_results_total", Help: "Policy evaluations by outcome (allow, deny, warn, dryrun, error).",
		}, []string{"policy", "outcome"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_reloads_total", Help: "Config and policy reloads by result (success, failure).",
		}, []string{"result"}),
		overload: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_overload_total",
			Help: "Requests answered as a malfunction because the replica had too many in evaluation (shed) or the server-side deadline passed (deadline), by webhook.",
		}, []string{"webhook", "reason"}),
		configValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_config_valid",
			Help: "1 when the config and policy files on disk are the ones in force; 0 when the last load of them failed (the previous good set serves, or, on a replica that started on them, nothing: it stays not ready).",
		}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_reload_last_success_timestamp_seconds", Help: "Unix time of the last successful load of config and policies.",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_config_generation", Help: "Increments on every config and policy set taken into use.",
		}),
		certExpiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_serving_certificate_expiry_timestamp_seconds", Help: "Unix time the serving certificate expires.",
		}),
		cacheSynced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tollgate_cache_synced", Help: "1 once the cache of Namespaces, LimitRanges and ResourceQuotas has synced.",
		}),
		quota: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_quota_outcomes_total",
			Help: "Quota predictions that denied or warned, by outcome (deny, warn), reason code (quota.exceeded, quota.near-limit, quota.pending-charges, quota.must-specify, quota.status-unknown) and quota resource (requests.cpu, limits.memory, pods, ...; \"other\" for extended and count/* resources).",
		}, []string{"outcome", "code", "resource"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tollgate_webhook_request_duration_seconds",
			Help:    "Time from reading an admission request to writing its answer, by webhook path; finer buckets below 10ms than controller_runtime_webhook_latency_seconds.",
			Buckets: []float64{.0001, .00025, .0005, .00075, .001, .0015, .002, .0025, .005, .01, .025, .05, .1, .25, 1, 2.5, 10},
		}, []string{"webhook"}),
		replaced: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tollgate_policy_packages_replaced", Help: "1 for each package of the shipped policies (or an earlier policy directory) that a policy directory replaces in the policies in force.",
		}, []string{"package", "policy"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.reasons, m.warnings, m.malfunctions, m.policyDuration,
		m.policyResults, m.reloads, m.reloadSuccess, m.configValid, m.overload, m.generation, m.certExpiry, m.cacheSynced, m.quota, m.duration, m.replaced} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Decision implements webhook.Recorder. Quota outcomes are counted from
// each reason's and warning's code and resources, never from its message,
// and only for the Pod validating webhook (docs/monitoring.md): the
// workload webhook's are predictions for Pods not yet asked for.
func (m *Metrics) Decision(webhook string, allowed bool, reasons []verdict.Reason, warnings []verdict.Warning) {
	m.decisions.WithLabelValues(webhook, boolLabel(allowed)).Inc()
	for _, r := range reasons {
		m.reasons.WithLabelValues(webhook, r.Code).Inc()
	}
	if len(warnings) > 0 {
		m.warnings.WithLabelValues(webhook).Add(float64(len(warnings)))
	}
	if webhook != "validate" {
		return
	}
	for _, r := range reasons {
		m.quotaOutcome("deny", r.Code, r.Resources)
	}
	// near-limit and pending-charges warnings, and every quota problem when quota.mode is warn
	for _, w := range warnings {
		m.quotaOutcome("warn", w.Code, w.Resources)
	}
}

// quotaOutcome counts one quota reason or warning per resource it
// concerns ("unknown" when it names none); other codes are not counted.
func (m *Metrics) quotaOutcome(outcome, code string, resources []string) {
	if !strings.HasPrefix(code, "quota.") {
		return
	}
	if len(resources) == 0 {
		m.quota.WithLabelValues(outcome, code, "unknown").Inc()
	}
	for _, res := range resources {
		m.quota.WithLabelValues(outcome, code, resourceLabel(res)).Inc()
	}
}

// Instrument wraps a webhook handler to observe how long each request
// takes, decoding and encoding included.
func (m *Metrics) Instrument(webhook string, next http.Handler) http.Handler {
	obs := m.duration.WithLabelValues(webhook)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		obs.Observe(time.Since(start).Seconds())
	})
}

// resourceLabel keeps label values bounded: the standard compute resources
// a Pod is charged for pass through, anything else (extended resources,
// hugepages, count/*) is "other".
func resourceLabel(name string) string {
	switch name {
	case "cpu", "memory", "ephemeral-storage", "pods",
		"requests.cpu", "requests.memory", "requests.ephemeral-storage", "requests.storage",
		"limits.cpu", "limits.memory", "limits.ephemeral-storage":
		return name
	}
	return "other"
}

// Malfunction implements webhook.Recorder.
func (m *Metrics) Malfunction(webhook string) { m.malfunctions.WithLabelValues(webhook).Inc() }

// ObservePolicy is a policy.Observer.
func (m *Metrics) ObservePolicy(o policy.Observation) {
	if o.Outcome != policy.OutcomeExempt { // not evaluated: a zero would drag the quantiles down
		m.policyDuration.WithLabelValues(o.Policy).Observe(o.Duration.Seconds())
	}
	m.policyResults.WithLabelValues(o.Policy, o.Outcome).Inc()
}

// Reloaded records a reload attempt; at is the Unix time of a success.
func (m *Metrics) Reloaded(ok bool, at float64) {
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		m.configValid.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.configValid.Set(1)
	m.reloadSuccess.Set(at)
	m.generation.Inc()
}

// Replaced records the replaced packages of the policies now in force.
func (m *Metrics) Replaced(rs []policy.Replacement) {
	m.replaced.Reset()
	for _, r := range rs {
		m.replaced.WithLabelValues(r.Package, r.Policy).Set(1)
	}
}

// Overloaded counts a shed or late request (webhook.Bound).
func (m *Metrics) Overloaded(webhook, reason string) {
	m.overload.WithLabelValues(webhook, reason).Inc()
}

// CertExpiry records when the serving certificate expires (Unix seconds).
func (m *Metrics) CertExpiry(at float64) { m.certExpiry.Set(at) }

// CacheSynced records that the cache has synced.
func (m *Metrics) CacheSynced() { m.cacheSynced.Set(1) }

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
