package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-dev/tollgate/pkg/sigverify"
)

// Signatures observes signature verification (sigverify.Observer).
// Registry requests themselves are counted by Registry.
type Signatures struct {
	lookups  *prometheus.CounterVec
	verified *prometheus.HistogramVec
}

var _ sigverify.Observer = (*Signatures)(nil)

// NewSignatures creates the verification metrics and registers them with reg.
func NewSignatures(reg prometheus.Registerer) (*Signatures, error) {
	m := &Signatures{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tollgate_signature_cache_total",
			Help: "Verification cache lookups by result: hit, miss (this admission verified), shared (joined a verification in flight).",
		}, []string{"result"}),
		verified: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tollgate_signature_verification_seconds", Help: "Verifications of one image digest by outcome (signed, unsigned, error).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.lookups, m.verified} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register signature metrics: %w", err)
		}
	}
	return m, nil
}

// CacheLookup implements sigverify.Observer.
func (m *Signatures) CacheLookup(result string) { m.lookups.WithLabelValues(result).Inc() }

// Verified implements sigverify.Observer.
func (m *Signatures) Verified(outcome string, d time.Duration) {
	m.verified.WithLabelValues(outcome).Observe(d.Seconds())
}
