package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// TestEveryMetricIsEmitted drives each recording method once against a
// fresh registry and checks that every family is exported with the value
// and labels an alert rule would select on.
func TestEveryMetricIsEmitted(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Decision("validate", false, []verdict.Reason{{Code: "policy.allowed-registries", Message: "x"}},
		[]verdict.Warning{{Code: "policy.allowed-registries", Message: "a"}, {Code: "defaults.limit-raised", Resources: []string{"limits.cpu"}, Message: "b"}})
	m.Decision("mutate", true, nil, nil)
	// The workload webhook's quota findings are predictions: no quota outcome.
	m.Decision("validate-workloads", false, []verdict.Reason{{Code: quota.CodeExceeded, Resources: []string{"requests.cpu"}, Message: "x"}},
		[]verdict.Warning{{Code: quota.CodeNearLimit, Resources: []string{"pods"}, Message: "y"}})
	m.Malfunction("validate")
	m.ObservePolicy(policy.Observation{Policy: "allowed-registries", Outcome: policy.OutcomeDeny, Duration: 300 * time.Microsecond})
	m.Reloaded(true, 1700000000)
	m.Reloaded(false, 0)
	m.CertExpiry(1800000000)
	m.CacheSynced()
	m.Replaced([]policy.Replacement{{Package: "tollgate.old", Policy: "old"}})
	m.Replaced([]policy.Replacement{{Package: "tollgate.allowed_registries", Policy: "allowed-registries"}})
	h := m.Instrument("/validate-v1-pod", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/validate-v1-pod", nil))

	want := map[string]string{
		"tollgate_decisions_total":                              `tollgate_decisions_total{allowed="false",webhook="validate"} 1`,
		"tollgate_denial_reasons_total":                         `tollgate_denial_reasons_total{code="policy.allowed-registries",webhook="validate"} 1`,
		"tollgate_warnings_total":                               `tollgate_warnings_total{webhook="validate"} 2`,
		"tollgate_errors_total":                                 `tollgate_errors_total{webhook="validate"} 1`,
		"tollgate_policy_evaluation_seconds":                    `tollgate_policy_evaluation_seconds_count{policy="allowed-registries"} 1`,
		"tollgate_policy_results_total":                         `tollgate_policy_results_total{outcome="deny",policy="allowed-registries"} 1`,
		"tollgate_reloads_total":                                `tollgate_reloads_total{result="failure"} 1`,
		"tollgate_reload_last_success_timestamp_seconds":        `tollgate_reload_last_success_timestamp_seconds 1.7e+09`,
		"tollgate_config_generation":                            `tollgate_config_generation 1`,
		"tollgate_config_valid":                                 `tollgate_config_valid 0`,
		"tollgate_serving_certificate_expiry_timestamp_seconds": `tollgate_serving_certificate_expiry_timestamp_seconds 1.8e+09`,
		"tollgate_cache_synced":                                 `tollgate_cache_synced 1`,
		"tollgate_webhook_request_duration_seconds":             `tollgate_webhook_request_duration_seconds_count{webhook="/validate-v1-pod"} 1`,
		"tollgate_policy_packages_replaced":                     `tollgate_policy_packages_replaced{package="tollgate.allowed_registries",policy="allowed-registries"} 1`,
	}
	text := gather(t, reg)
	for name, line := range want {
		if !strings.Contains(text, "# TYPE "+name+" ") {
			t.Errorf("%s is not exported", name)
		}
		if !strings.Contains(text, line+"\n") {
			t.Errorf("%s: want line %q", name, line)
		}
	}
	if strings.Contains(text, `package="tollgate.old"`) {
		t.Errorf("a replacement of an earlier load is still reported")
	}
	// Quota outcomes appear once a Pod's quota decision was recorded (below).
	if strings.Contains(text, "tollgate_quota_outcomes_total{") {
		t.Errorf("quota outcomes before any quota decision")
	}
}

func list(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

// quotaVerdicts are real pkg/quota verdicts: deny and warn, each code.
func quotaVerdicts() []verdict.Verdict {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "x",
			Resources: corev1.ResourceRequirements{Requests: list("cpu", "2", "memory", "1Gi"), Limits: list("cpu", "2", "memory", "1Gi")}}}},
	}
	bare := pod.DeepCopy()
	bare.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	rq := func(name string, hard, used corev1.ResourceList) corev1.ResourceQuota {
		return corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: corev1.ResourceQuotaSpec{Hard: hard},
			Status: corev1.ResourceQuotaStatus{Hard: hard, Used: used}}
	}
	tight := rq("tight", list("requests.cpu", "3", "requests.memory", "10Gi"), list("requests.cpu", "2", "requests.memory", "9500Mi"))
	near := rq("near", list("requests.cpu", "10", "limits.memory", "2Gi"), list("requests.cpu", "7", "limits.memory", "0"))
	unknown := rq("fresh", list("pods", "10"), nil)
	opts := quota.Options{Mode: quota.ModeDeny, WarnThreshold: 90}
	var out []verdict.Verdict
	for _, in := range []quota.Input{
		{Operation: "CREATE", Pod: pod, Quotas: []corev1.ResourceQuota{tight}, Options: opts},
		{Operation: "CREATE", Pod: pod, Quotas: []corev1.ResourceQuota{near}, Options: opts},
		{Operation: "CREATE", Pod: bare, Quotas: []corev1.ResourceQuota{near}, Options: opts},
		{Operation: "CREATE", Pod: pod, Quotas: []corev1.ResourceQuota{unknown}, Options: opts},
		{Operation: "CREATE", Pod: pod, Quotas: []corev1.ResourceQuota{tight}, Options: quota.Options{Mode: quota.ModeWarn}},
	} {
		out = append(out, quota.Check(in))
	}
	// Two Pods that each fit status.used but not together: the ledger warns on the second.
	ledger := quota.NewLedger(func() time.Time { return time.Unix(0, 0) })
	roomy := rq("roomy", list("requests.cpu", "3"), list("requests.cpu", "0"))
	for range 2 {
		out = append(out, ledger.Check(quota.Input{Operation: "CREATE", Pod: pod, Quotas: []corev1.ResourceQuota{roomy}, Options: opts}))
	}
	return out
}

// recordQuota records the verdicts as the Pod validating webhook's
// decisions (so quota warnings count too) and returns the exported text.
func recordQuota(t *testing.T, vs []verdict.Verdict) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		m.Decision("validate", v.Allowed(), v.Reasons, v.Warnings)
	}
	return gather(t, reg)
}

// TestQuotaOutcomes: every quota code, denied and warned, is counted per
// resource it concerns.
func TestQuotaOutcomes(t *testing.T) {
	text := recordQuota(t, quotaVerdicts())
	for _, line := range []string{
		`tollgate_quota_outcomes_total{code="quota.exceeded",outcome="deny",resource="requests.cpu"} 1`,
		`tollgate_quota_outcomes_total{code="quota.exceeded",outcome="deny",resource="requests.memory"} 1`,
		`tollgate_quota_outcomes_total{code="quota.near-limit",outcome="warn",resource="requests.cpu"} 1`,
		`tollgate_quota_outcomes_total{code="quota.must-specify",outcome="deny",resource="limits.memory"} 1`,
		`tollgate_quota_outcomes_total{code="quota.status-unknown",outcome="deny",resource="pods"} 1`,
		`tollgate_quota_outcomes_total{code="quota.exceeded",outcome="warn",resource="requests.cpu"} 1`,
		`tollgate_quota_outcomes_total{code="quota.pending-charges",outcome="warn",resource="requests.cpu"} 1`,
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("want line %q", line)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// TestQuotaLabelsIgnoreMessages: the quota outcome labels come from the
// code and resources of each reason and warning, so rewording every
// message leaves the metric as it was.
func TestQuotaLabelsIgnoreMessages(t *testing.T) {
	vs := quotaVerdicts()
	reworded := make([]verdict.Verdict, 0, len(vs))
	for _, v := range vs {
		var r verdict.Verdict
		for _, x := range v.Reasons {
			x.Message = "reworded"
			r.Reasons = append(r.Reasons, x)
		}
		for _, w := range v.Warnings {
			w.Message = "reworded too"
			r.Warnings = append(r.Warnings, w)
		}
		reworded = append(reworded, r)
	}
	want, got := quotaLines(recordQuota(t, vs)), quotaLines(recordQuota(t, reworded))
	if len(want) < 7 {
		t.Fatalf("only %d quota outcome series from the real verdicts: %q", len(want), want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reworded messages changed the metric:\n got %q\nwant %q", got, want)
	}
}

// quotaLines are the tollgate_quota_outcomes_total samples of an export.
func quotaLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "tollgate_quota_outcomes_total{") {
			out = append(out, l)
		}
	}
	return out
}

func TestResourceLabelIsBounded(t *testing.T) {
	for in, want := range map[string]string{"requests.cpu": "requests.cpu", "nvidia.com/gpu": "other", "requests.nvidia.com/gpu": "other", "count/pods": "other", "hugepages-2Mi": "other"} {
		if got := resourceLabel(in); got != want {
			t.Errorf("resourceLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	srv := httptest.NewServer(promhttpHandler(reg))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func promhttpHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
