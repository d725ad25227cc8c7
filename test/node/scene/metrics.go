package scene

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// generations reads tollgate_config_generation from each replica's metrics
// port (the Pod IP is on the node's bridge, so the host reaches it) — what
// an operator's Prometheus sees when a reload is taken into use.
func generations(ctx context.Context, pods []corev1.Pod) (map[string]float64, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	out := map[string]float64{}
	for _, p := range pods {
		url := "http://" + net.JoinHostPort(p.Status.PodIP, "8080") + "/metrics"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("metrics request: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("pod %s metrics: %w", p.Name, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("pod %s metrics: %w", p.Name, err)
		}
		g, ok := metric(string(body), "tollgate_config_generation")
		if !ok {
			return nil, fmt.Errorf("pod %s: no tollgate_config_generation in /metrics", p.Name)
		}
		out[p.Name] = g
	}
	return out, nil
}

func metric(text, name string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
