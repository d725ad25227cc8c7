package chart

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Tracing off (the default, and an empty endpoint with the other values set): no tracing flag,
// since serve refuses --tracing-sample-ratio without --tracing-endpoint, no tracing variable, and
// no egress rule for a collector.
func TestTracingOff(t *testing.T) {
	t.Parallel()
	offWithValues := valuesFile(t, `tracing:
  endpoint: ""
  sampleRatio: 0.5
  env:
    - name: OTEL_SERVICE_NAME
      value: tollgate-prod
networkPolicy:
  enabled: true
`)
	for name, args := range map[string][]string{
		"defaults":                   nil,
		"empty endpoint, rest given": {"-f", offWithValues},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := template(t, args...)
			c := get[appsv1.Deployment](t, m, "Deployment", "tollgate").Spec.Template.Spec.Containers[0]
			if hasArgPrefix(c.Args, "--tracing") {
				t.Errorf("tracing flags rendered with tracing off: %v", c.Args)
			}
			if got := envNames(c.Env); !slices.Equal(got, chartEnv) {
				t.Errorf("env %v with tracing off, want the chart's own %v only", got, chartEnv)
			}
			if m.has("NetworkPolicy", "tollgate") {
				if p := egressPorts(get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", "tollgate")); p["TCP/4317"] {
					t.Errorf("egress to the collector port with tracing off: %v", p)
				}
			}
		})
	}
}

// chartEnv is what the chart sets by default: its namespace, and the Go
// runtime settings of goRuntime.
var chartEnv = []string{"POD_NAMESPACE", "GOGC", "GOMEMLIMIT"}

// Tracing on: both flags after the chart's own (so extraArgs still come last), the tracing
// variables as given (valueFrom included) between POD_NAMESPACE and extraEnv, and with a
// NetworkPolicy an egress rule for the endpoint's port.
func TestTracingOn(t *testing.T) {
	t.Parallel()
	f := valuesFile(t, `tracing:
  endpoint: otel-collector.observability.svc:4317
  sampleRatio: 0.25
  env:
    - name: OTEL_EXPORTER_OTLP_HEADERS
      valueFrom:
        secretKeyRef:
          name: otel-auth
          key: headers
    - name: OTEL_RESOURCE_ATTRIBUTES
      value: deployment.environment=prod
extraArgs:
  - --zap-devel=false
goRuntime:
  gogc: "150"
  memoryLimit: ""
extraEnv:
  - name: GODEBUG
    value: madvdontneed=1
networkPolicy:
  enabled: true
`)
	m := template(t, "-f", f)
	c := get[appsv1.Deployment](t, m, "Deployment", "tollgate").Spec.Template.Spec.Containers[0]
	wantTail := []string{
		"--tracing-endpoint=otel-collector.observability.svc:4317",
		"--tracing-sample-ratio=0.25",
		"--zap-devel=false",
	}
	if len(c.Args) < len(wantTail) || !slices.Equal(c.Args[len(c.Args)-len(wantTail):], wantTail) {
		t.Errorf("args %v, want them to end with %v", c.Args, wantTail)
	}
	wantEnv := []corev1.EnvVar{
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "GOGC", Value: "150"},
		{Name: "OTEL_EXPORTER_OTLP_HEADERS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "otel-auth"}, Key: "headers",
		}}},
		{Name: "OTEL_RESOURCE_ATTRIBUTES", Value: "deployment.environment=prod"},
		{Name: "GODEBUG", Value: "madvdontneed=1"},
	}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if p := egressPorts(get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", "tollgate")); !p["TCP/4317"] {
		t.Errorf("egress lacks TCP/4317 for the collector: %v", p)
	}

	// The default ratio is rendered too, and the port comes from a URL-form endpoint.
	m = template(t, "--set", "tracing.endpoint=https://otel.example.com:55681/", "--set", "networkPolicy.enabled=true")
	c = get[appsv1.Deployment](t, m, "Deployment", "tollgate").Spec.Template.Spec.Containers[0]
	for _, want := range []string{"--tracing-endpoint=https://otel.example.com:55681/", "--tracing-sample-ratio=1"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if got := envNames(c.Env); !slices.Equal(got, chartEnv) {
		t.Errorf("env %v, want the chart's own %v only when tracing.env is empty", got, chartEnv)
	}
	if p := egressPorts(get[networkingv1.NetworkPolicy](t, m, "NetworkPolicy", "tollgate")); !p["TCP/55681"] || p["TCP/4317"] {
		t.Errorf("egress %v, want TCP/55681 (the endpoint's port) and not 4317", p)
	}
}

// TestTracingEndpointChecked: an endpoint tollgate serve would refuse fails the render, with
// and without the schema, so neither the Deployment nor the NetworkPolicy gets a bad port.
func TestTracingEndpointChecked(t *testing.T) {
	t.Parallel()
	for _, e := range []string{"otel-collector", "otel:0", "otel:99999", "http://otel:4317/v1/traces", "otel:4317/", "a:b:4317"} {
		for _, skip := range []bool{false, true} {
			args := []string{"--set", "tracing.endpoint=" + e}
			if skip {
				args = append(args, "--skip-schema-validation")
			}
			out, stderr, err := templateRaw(t, args...)
			if err == nil {
				t.Errorf("endpoint %q (skip schema %v) rendered; want an error. Output:\n%.1000s", e, skip, out)
				continue
			}
			if !strings.Contains(stderr, "endpoint") {
				t.Errorf("endpoint %q (skip schema %v): error does not name the endpoint:\n%s", e, skip, stderr)
			}
		}
	}
}

func envNames(env []corev1.EnvVar) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		out = append(out, e.Name)
	}
	return out
}

// egressPorts lists a NetworkPolicy's egress ports as "PROTOCOL/port".
func egressPorts(np *networkingv1.NetworkPolicy) map[string]bool {
	out := map[string]bool{}
	for _, r := range np.Spec.Egress {
		for _, p := range r.Ports {
			out[string(*p.Protocol)+"/"+p.Port.String()] = true
		}
	}
	return out
}
