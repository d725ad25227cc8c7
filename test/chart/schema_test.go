package chart

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestSchemaRejects checks that mistakes fail `helm template` with a message that points at them.
func TestSchemaRejects(t *testing.T) {
	t.Parallel()
	ca := base64.StdEncoding.EncodeToString(testCA(t))
	notPEM := base64.StdEncoding.EncodeToString([]byte("hello"))
	cases := []struct {
		name string
		args []string
		want []string // substrings of helm's error output
	}{
		{"unknown top-level key", []string{"--set", "replicas=3"}, []string{"replicas"}},
		{"unknown nested key", []string{"--set", "webhook.mutating.failurepolicy=Fail"}, []string{"failurepolicy"}},
		{"wrong type", []string{"--set", "replicaCount=two"}, []string{"replicaCount", "integer"}},
		{"wrong type nested", []string{"--set-string", "webhook.timeoutSeconds=5"}, []string{"timeoutSeconds", "integer"}},
		{"timeout above the API limit", []string{"--set", "webhook.timeoutSeconds=31"}, []string{"timeoutSeconds"}},
		{"unknown failurePolicy", []string{"--set", "webhook.validating.failurePolicy=Maybe"}, []string{"failurePolicy"}},
		{"unknown tls mode", []string{"--set", "tls.mode=auto"}, []string{"mode"}},
		{"url mode without url", []string{"--set", "tls.mode=url", "--set", "tls.caBundle=" + ca}, []string{"url"}},
		{"url mode without caBundle", []string{"--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:9443"}, []string{"caBundle"}},
		{"url without https", []string{"--set", "tls.mode=url", "--set", "webhook.url=http://127.0.0.1:9443", "--set", "tls.caBundle=" + ca}, []string{"url"}},
		{"provided mode without secretName", []string{"--set", "tls.mode=provided", "--set", "tls.caBundle=" + ca}, []string{"secretName"}},
		{"provided mode without caBundle", []string{"--set", "tls.mode=provided", "--set", "tls.secretName=x"}, []string{"caBundle"}},
		{"caBundle that is not a PEM certificate", []string{"--set", "tls.mode=provided", "--set", "tls.secretName=x", "--set", "tls.caBundle=" + notPEM}, []string{"tls.caBundle must be a base64-encoded PEM"}},
		{"url outside url mode", []string{"--set", "webhook.url=https://127.0.0.1:9443"}, []string{"webhook.url is only used with tls.mode=url"}},
		{"bad quota mode in config", []string{"--set", "config.quota.mode=strict"}, []string{"mode"}},
		{"unknown config key", []string{"--set", "config.quota.threshold=80"}, []string{"threshold"}},
		{"policy file without .rego", []string{"--set", "customPolicies.inline.team=x"}, []string{"team"}},
		{"inline and existing policies", []string{"--set", "customPolicies.inline.a\\.rego=x", "--set", "customPolicies.existingConfigMap=y"}, []string{"not both"}},
		{"bad duration", []string{"--set", "tls.certManager.duration=90d"}, []string{"duration"}},
		{"sample ratio above 1", []string{"--set-json", "tracing.sampleRatio=1.5", "--set", "tracing.endpoint=otel:4317"}, []string{"sampleRatio"}},
		{"negative sample ratio", []string{"--set-json", "tracing.sampleRatio=-0.1", "--set", "tracing.endpoint=otel:4317"}, []string{"sampleRatio"}},
		{"sample ratio as a string", []string{"--set-string", "tracing.sampleRatio=0.5"}, []string{"sampleRatio", "number"}},
		{"non-string endpoint", []string{"--set", "tracing.endpoint=4317"}, []string{"endpoint", "string"}},
		{"endpoint without a port", []string{"--set", "tracing.endpoint=otel-collector"}, []string{"endpoint"}},
		{"tracing env entry not an object", []string{"--set", "tracing.env[0]=OTEL_SERVICE_NAME"}, []string{"env"}},
		{"tracing env entry without a name", []string{"--set", "tracing.env[0].value=x"}, []string{"name"}},
		{"unknown tracing key", []string{"--set", "tracing.enabled=true"}, []string{"enabled"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := templateRaw(t, c.args...)
			if err == nil {
				t.Fatalf("helm template %v succeeded; want an error. Output:\n%.2000s", c.args, out)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error does not mention %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestLint runs helm lint --strict in every TLS mode.
func TestLint(t *testing.T) {
	t.Parallel()
	ca := base64.StdEncoding.EncodeToString(testCA(t))
	for name, args := range map[string][]string{
		"certManager": nil,
		"provided":    {"--set", "tls.mode=provided", "--set", "tls.secretName=tollgate-tls", "--set", "tls.caBundle=" + ca},
		"url":         {"--set", "tls.mode=url", "--set", "webhook.url=https://127.0.0.1:9443", "--set", "tls.caBundle=" + ca},
		"everything on": {"--set", "networkPolicy.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
			"--set", "customPolicies.inline.team\\.rego=package team", "--set", "tracing.endpoint=otel:4317",
			"--set", "tracing.env[0].name=OTEL_SERVICE_NAME", "--set", "tracing.env[0].value=tollgate-lint"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := helm(t, append([]string{"lint", "--strict", "--namespace", "tollgate-system", chartDir}, args...)...)
			if err != nil || !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint --strict: %v\n%s%s", err, out, stderr)
			}
		})
	}
}
