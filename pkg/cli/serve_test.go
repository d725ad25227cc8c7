package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeRejectsBadTracingFlags: each bad value stops `tollgate serve`
// before it reads a kubeconfig or starts anything, with exit 2 and a
// message naming the flag and what it wants.
func TestServeRejectsBadTracingFlags(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"endpoint without port": {
			[]string{"--tracing-endpoint", "collector"},
			`--tracing-endpoint: "collector": want host:port (the OTLP/gRPC port is usually 4317)`,
		},
		"endpoint with a path": {
			[]string{"--tracing-endpoint", "http://collector:4318/v1/traces"},
			"--tracing-endpoint: \"http://collector:4318/v1/traces\": want host:port or http(s)://host:port, with no path",
		},
		"endpoint port out of range": {
			[]string{"--tracing-endpoint", "collector:99999"},
			`--tracing-endpoint: "collector:99999": port "99999" is not a number from 1 to 65535`,
		},
		"empty endpoint": {
			[]string{"--tracing-endpoint="},
			"--tracing-endpoint is empty; leave it out to keep tracing off",
		},
		"ratio above 1": {
			[]string{"--tracing-endpoint", "collector:4317", "--tracing-sample-ratio", "1.5"},
			"--tracing-sample-ratio: 1.5 is not between 0 and 1",
		},
		"negative ratio": {
			[]string{"--tracing-endpoint", "collector:4317", "--tracing-sample-ratio=-0.1"},
			"--tracing-sample-ratio: -0.1 is not between 0 and 1",
		},
		"ratio not a number": {
			[]string{"--tracing-endpoint", "collector:4317", "--tracing-sample-ratio", "ten percent"},
			`invalid argument "ten percent" for "--tracing-sample-ratio"`,
		},
		"ratio without endpoint": {
			[]string{"--tracing-sample-ratio", "0.5"},
			"--tracing-sample-ratio has no effect without --tracing-endpoint (tracing is off)",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			// A kubeconfig that does not exist: were the flags accepted, serve
			// would fail on it instead, with another message.
			args := append([]string{"serve", "--kubeconfig", "/nonexistent/kubeconfig"}, tt.args...)
			code := Run(t.Context(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut})
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d (stderr %q)", code, ExitBadInput, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q, want it to say %q", errOut.String(), tt.want)
			}
		})
	}
}
