package harness

import (
	"strings"
	"testing"
)

func TestParseWebhookCalls(t *testing.T) {
	in := `# HELP controller_runtime_webhook_requests_total Total number of admission requests by HTTP status code.
controller_runtime_webhook_requests_total{code="200",webhook="/mutate-v1-pod"} 3
controller_runtime_webhook_requests_total{code="500",webhook="/mutate-v1-pod"} 1
controller_runtime_webhook_requests_total{code="200",webhook="/validate-v1-pod"} 2
controller_runtime_webhook_requests_in_flight{webhook="/validate-v1-pod"} 9
`
	got, err := parseWebhookCalls(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got["/mutate-v1-pod"] != 4 || got["/validate-v1-pod"] != 2 || len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestHasPrefixFold(t *testing.T) {
	for s, want := range map[string]bool{"HTTPS_PROXY=x": true, "https_proxy=x": true, "HTTP=x": false, "no_proxy=": true} {
		if got := hasPrefixFold(s, "https_proxy=") || hasPrefixFold(s, "no_proxy="); got != want {
			t.Errorf("%q: got %v want %v", s, got, want)
		}
	}
}
