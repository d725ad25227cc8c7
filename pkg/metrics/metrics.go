// Package metrics defines Tollgate's Prometheus metrics, registered in
// controller-runtime's registry so they are served beside its own
// webhook request metrics. Every label has a bounded set of values.
package metrics

import (
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
	generation     prometheus.Gauge
	certExpiry     prometheus.Gauge
	cacheSynced    prometheus.Gauge
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
	}
	for _, c := range []prometheus.Collector{m.decisions, m.reasons, m.warnings, m.malfunctions, m.policyDuration,
		m.policyResults, m.reloads, m.reloadSuccess, m.generation, m.certExpiry, m.cacheSynced} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Decision implements webhook.Recorder.
func (m *Metrics) Decision(webhook string, allowed bool, reasons []verdict.Reason, warnings int) {
	m.decisions.WithLabelValues(webhook, boolLabel(allowed)).Inc()
	for _, r := range reasons {
		m.reasons.WithLabelValues(webhook, r.Code).Inc()
	}
	if warnings > 0 {
		m.warnings.WithLabelValues(webhook).Add(float64(warnings))
	}
}

// Malfunction implements webhook.Recorder.
func (m *Metrics) Malfunction(webhook string) { m.malfunctions.WithLabelValues(webhook).Inc() }

// ObservePolicy is a policy.Observer.
func (m *Metrics) ObservePolicy(o policy.Observation) {
	m.policyDuration.WithLabelValues(o.Policy).Observe(o.Duration.Seconds())
	m.policyResults.WithLabelValues(o.Policy, o.Outcome).Inc()
}

// Reloaded records a reload attempt; at is the Unix time of a success.
func (m *Metrics) Reloaded(ok bool, at float64) {
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadSuccess.Set(at)
	m.generation.Inc()
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
