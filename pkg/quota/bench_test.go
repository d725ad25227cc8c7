package quota

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// benchInput is a realistic admission: a Pod with an init container, a
// sidecar and two containers, against ten quotas of mixed scopes.
func benchInput() Input {
	p := pod(withPriorityClass("high"),
		withInit("migrate", req("cpu", "500m", "memory", "256Mi"), lim("cpu", "1", "memory", "512Mi")),
		withSidecar("proxy", req("cpu", "100m", "memory", "64Mi"), lim("cpu", "200m", "memory", "128Mi")),
		withContainer("app", req("cpu", "1", "memory", "1Gi", "ephemeral-storage", "1Gi"), lim("cpu", "2", "memory", "2Gi", "ephemeral-storage", "2Gi")),
		withContainer("worker", req("cpu", "250m", "memory", "512Mi"), lim("cpu", "500m", "memory", "1Gi")))
	qs := make([]corev1.ResourceQuota, 0, 10)
	for i := 0; i < 10; i++ {
		opts := []quotaOpt{
			hard("requests.cpu", "100", "limits.cpu", "200", "requests.memory", "200Gi", "limits.memory", "400Gi", "pods", "500"),
			used("requests.cpu", "40", "limits.cpu", "80", "requests.memory", "90Gi", "limits.memory", "150Gi", "pods", "120"),
		}
		switch i % 4 {
		case 1:
			opts = append(opts, scopes(corev1.ResourceQuotaScopeNotBestEffort))
		case 2:
			opts = append(opts, selector(corev1.ResourceQuotaScopePriorityClass, corev1.ScopeSelectorOpIn, "high", "critical"))
		case 3:
			opts = append(opts, scopes(corev1.ResourceQuotaScopeNotTerminating))
		}
		qs = append(qs, rq(fmt.Sprintf("quota-%d", i), opts...))
	}
	return Input{Operation: "CREATE", Pod: p, Quotas: qs, Options: Options{Mode: ModeDeny, WarnThreshold: 90}}
}

func BenchmarkCheck(b *testing.B) {
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		if v := Check(in); !v.Allowed() {
			b.Fatalf("denied: %v", v.Reasons)
		}
	}
}

// BenchmarkLedgerCheck includes locking and recording; status.used changes
// every iteration so pending charges do not pile up.
func BenchmarkLedgerCheck(b *testing.B) {
	in := benchInput()
	l := NewLedger(func() time.Time { return time.Unix(0, 0) })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		for j := range in.Quotas {
			in.Quotas[j].Status.Used = list("requests.cpu", "40", "limits.cpu", "80", "requests.memory", "90Gi", "limits.memory", "150Gi", "pods", fmt.Sprint(i%100))
		}
		if v := l.Check(in); !v.Allowed() {
			b.Fatalf("denied: %v", v.Reasons)
		}
	}
}
