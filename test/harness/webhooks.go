package harness

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChartDir is the Helm chart in this repo.
func ChartDir() string { return filepath.Join(RepoRoot(), "charts", "tollgate") }

// RenderWebhooks renders the chart in URL mode pointing at tg, so the API
// server calls the local process. extraSets are more --set pairs.
func RenderWebhooks(ctx context.Context, tg *Tollgate, release string, extraSets ...string) (string, error) {
	if err := mustExist("Helm chart", filepath.Join(ChartDir(), "Chart.yaml"), "charts/tollgate is not written yet"); err != nil {
		return "", err
	}
	if err := mustExist("helm", HelmBin(), "run `make helm`, or set TOLLGATE_HELM"); err != nil {
		return "", err
	}
	args := []string{"template", release, ChartDir(), "--no-hooks",
		"--set", "tls.mode=url",
		"--set", "webhook.url=" + tg.URL,
		"--set", "tls.caBundle=" + base64.StdEncoding.EncodeToString(tg.CA.CertPEM),
		// The API server serves it; `helm template` only knows when told.
		"--api-versions", "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy",
	}
	for _, s := range extraSets {
		args = append(args, "--set", s)
	}
	r := Helm(ctx, "", args...)
	if r.Err != nil {
		return "", fmt.Errorf("render webhooks: %w", r.Err)
	}
	return r.Stdout, nil
}

// RegisterWebhooks renders the chart's webhook configurations for tg,
// applies them to s with kubectl and waits until the API server calls both
// webhooks.
func RegisterWebhooks(ctx context.Context, s *APIServer, tg *Tollgate, release string, extraSets ...string) error {
	manifest, err := RenderWebhooks(ctx, tg, release, extraSets...)
	if err != nil {
		return err
	}
	if r := Kubectl(ctx, s.Kubeconfig, manifest, "apply", "-f", "-"); r.Err != nil {
		return fmt.Errorf("apply webhooks: %w", r.Err)
	}
	return WaitWebhooksCalled(ctx, s, tg, "default")
}

// WaitWebhooksCalled dry-runs a probe Pod in ns until Tollgate's metrics show
// that the API server called both webhooks: webhook configurations reach the
// API server through an informer, so "applied" is not yet "in effect".
func WaitWebhooksCalled(ctx context.Context, s *APIServer, tg *Tollgate, ns string) error {
	before, err := tg.WebhookCalls()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "tollgate-probe-"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}},
	}
	err = Poll(ctx, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		// Denials are fine: only whether the webhooks were called matters.
		_, _ = s.Client.CoreV1().Pods(ns).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		now, err := tg.WebhookCalls()
		if err != nil {
			return false, err
		}
		return now["/mutate-v1-pod"] > before["/mutate-v1-pod"] && now["/validate-v1-pod"] > before["/validate-v1-pod"], nil
	})
	if err != nil {
		return fmt.Errorf("webhooks of %s never called by %s: %w", tg.URL, s.Name, err)
	}
	return nil
}

// WebhookCalls sums controller-runtime's webhook request counter per path.
func (t *Tollgate) WebhookCalls() (map[string]float64, error) {
	body, err := t.scrape()
	if err != nil {
		return nil, err
	}
	return parseWebhookCalls(strings.NewReader(body))
}

// MetricSum sums the samples of metric name whose labels contain every one
// of labels (each written as key="value").
func (t *Tollgate) MetricSum(name string, labels ...string) (float64, error) {
	body, err := t.scrape()
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		sp := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[sp+1:], 64); match && err == nil {
			sum += v
		}
	}
	return sum, nil
}

func (t *Tollgate) scrape() (string, error) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := hc.Get(t.MetricsURL)
	if err != nil {
		return "", fmt.Errorf("scrape %s: %w", t.MetricsURL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("scrape %s: %w", t.MetricsURL, err)
	}
	return string(b), nil
}

func parseWebhookCalls(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if path, v, ok := WebhookSample(sc.Text(), "controller_runtime_webhook_requests_total"); ok {
			out[path] += v
		}
	}
	return out, sc.Err()
}

// WebhookSample reads one Prometheus text line of metric (a series with a
// webhook="<path>" label) and returns the path and the value.
func WebhookSample(line, metric string) (path string, v float64, ok bool) {
	if !strings.HasPrefix(line, metric+"{") {
		return "", 0, false
	}
	i := strings.Index(line, `webhook="`)
	sp := strings.LastIndexByte(line, ' ')
	if i < 0 || sp < 0 {
		return "", 0, false
	}
	path = line[i+len(`webhook="`):]
	end := strings.IndexByte(path, '"')
	if end < 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", 0, false
	}
	return path[:end], v, true
}

// WriteFile writes data to dir/name and returns the path.
func WriteFile(dir, name, data string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, writeAtomic(p, []byte(data), 0o644)
}

// RegisterWebhooksQuiet renders and applies the webhook configurations
// without waiting for calls (used while Tollgate is down on purpose).
func RegisterWebhooksQuiet(ctx context.Context, s *APIServer, tg *Tollgate, release string, extraSets ...string) error {
	manifest, err := RenderWebhooks(ctx, tg, release, extraSets...)
	if err != nil {
		return err
	}
	if r := Kubectl(ctx, s.Kubeconfig, manifest, "apply", "-f", "-"); r.Err != nil {
		return fmt.Errorf("apply webhooks: %w", r.Err)
	}
	return nil
}
