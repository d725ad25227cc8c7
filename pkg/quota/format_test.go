package quota

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestFormatQuantity(t *testing.T) {
	tests := map[string]struct {
		name corev1.ResourceName
		q    string
		want string
	}{
		"cpu millis":          {"requests.cpu", "500m", "0.5"},
		"cpu cores":           {"cpu", "2", "2"},
		"cpu mixed":           {"limits.cpu", "7500m", "7.5"},
		"cpu one milli":       {"cpu", "1m", "0.001"},
		"cpu decimal input":   {"cpu", "0.25", "0.25"},
		"cpu nano falls back": {"cpu", "1n", "1n"},
		"zero":                {"limits.memory", "0", "0"},
		"Gi":                  {"memory", "16Gi", "16Gi"},
		"Gi with decimals":    {"limits.memory", "1536Mi", "1.5Gi"},
		"not rounded to Gi":   {"memory", "1025Mi", "1025Mi"},
		"Mi":                  {"requests.memory", "500Mi", "500Mi"},
		"decimal SI kept":     {"memory", "100M", "100M"},
		"decimal G":           {"requests.ephemeral-storage", "2G", "2G"},
		"Ki":                  {"memory", "1Ki", "1Ki"},
		"bytes":               {"memory", "1000", "1k"},
		"odd bytes":           {"memory", "1001", "1001"},
		"Ti":                  {"requests.ephemeral-storage", "2Ti", "2Ti"},
		"hugepages":           {"requests.hugepages-2Mi", "128Mi", "128Mi"},
		"fractional bytes":    {"memory", "1500m", "1500m"},
		"pods":                {"pods", "10", "10"},
		"count/pods":          {"count/pods", "3", "3"},
		"extended":            {"requests.nvidia.com/gpu", "2", "2"},
		"extended fractional": {"requests.example.com/foo", "500m", "500m"},
		"other":               {"services", "5", "5"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := formatQuantity(tc.name, resource.MustParse(tc.q)); got != tc.want {
				t.Errorf("formatQuantity(%s, %s) = %q, want %q", tc.name, tc.q, got, tc.want)
			}
		})
	}
}

func TestPercent(t *testing.T) {
	tests := map[string]struct {
		used, hard string
		want       int64
	}{
		"exact":           {"7600m", "8", 95},
		"rounded down":    {"15Gi", "16Gi", 93},
		"just under 90":   {"8999m", "10", 89},
		"mixed scales":    {"900M", "1G", 90},
		"over":            {"3", "2", 150},
		"zero hard":       {"1", "0", 0},
		"binary vs milli": {"512Mi", "1Gi", 50},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := percent(resource.MustParse(tc.used), resource.MustParse(tc.hard)); got != tc.want {
				t.Errorf("percent(%s, %s) = %d, want %d", tc.used, tc.hard, got, tc.want)
			}
		})
	}
}
