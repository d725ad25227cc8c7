package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/pkg/registry"
)

// Registry observes the registry client (registry.Observer). The rule
// label is the pattern of the registries.access rule, so it is bounded by
// the config; op is auth, head, manifest, blob or referrers.
type Registry struct {
	tagCache *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

var _ registry.Observer = (*Registry)(nil)

// NewRegistry creates the registry client metrics and registers them with reg.
func NewRegistry(reg prometheus.Registerer) (*Registry, error) {
	m := &Registry{
		tagCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_registry_tag_cache_total", Help: "Tag to digest lookups for pinning by cache result (hit, miss).",
		}, []string{"rule", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_registry_request_seconds", Help: "Registry operations by rule and operation, failed ones included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"rule", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_registry_errors_total", Help: "Failed registry operations by kind (timeout, throttled, unavailable, unauthorized, not_found, tls, insecure, invalid).",
		}, []string{"rule", "op", "kind"}),
	}
	for _, c := range []prometheus.Collector{m.tagCache, m.latency, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register registry metrics: %w", err)
		}
	}
	return m, nil
}

// TagCache implements registry.Observer.
func (m *Registry) TagCache(rule string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.tagCache.WithLabelValues(rule, result).Inc()
}

// Request implements registry.Observer.
func (m *Registry) Request(rule, op string, d time.Duration, kind registry.Kind) {
	m.latency.WithLabelValues(rule, op).Observe(d.Seconds())
	if kind != "" {
		m.errors.WithLabelValues(rule, op, string(kind)).Inc()
	}
}
