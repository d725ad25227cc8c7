//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

func harnessWait(ctx context.Context) error {
	return harness.WaitWebhooksCalled(ctx, env.api, env.tg, "default")
}

// With Tollgate down, the chart's default failurePolicy (validating: Fail)
// refuses Pods with the API server's own message; with failurePolicy Ignore
// Pods are admitted without defaults. Tollgate and the registration are
// restored afterwards.
func TestWebhookDown(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-down"
	namespace(t, env.api.Client, ns, map[string]string{"e2e.tollgate.dev/profile": "small"}, true)
	t.Cleanup(func() {
		ctx := context.Background()
		if err := harness.RegisterWebhooksQuiet(ctx, env.api, env.tg, "tollgate"); err != nil {
			t.Errorf("restore webhooks: %v", err)
		}
		if err := env.tg.Start(ctx); err != nil {
			t.Errorf("restart tollgate: %v", err)
			return
		}
		if err := harnessWait(ctx); err != nil {
			t.Errorf("webhooks not called after restart: %v", err)
		}
	})
	env.tg.Stop()

	r := kubectl(ctx, "", "run", "during-outage", "-n", ns, "--image="+pause)
	if r.Err == nil {
		t.Fatalf("failurePolicy Fail admitted a Pod while Tollgate was down:\n%s", r.Output())
	}
	if !strings.Contains(r.Stderr, "failed calling webhook") || !strings.Contains(r.Stderr, "validate-pods.tollgate.dev") {
		t.Errorf("denial is not the API server's webhook failure:\n%s", r.Stderr)
	}
	t.Logf("Fail: user sees: %s", strings.TrimSpace(r.Stderr))

	if err := harness.RegisterWebhooksQuiet(ctx, env.api, env.tg, "tollgate", "webhook.validating.failurePolicy=Ignore"); err != nil {
		t.Fatal(err)
	}
	// The API server picks up the new policy through its informer.
	eventually(t, "Pod admitted with failurePolicy Ignore", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, "", "run", "during-outage", "-n", ns, "--image="+pause)
		return r.Err == nil, r.Output()
	})
	res := kubectl(ctx, "", "get", "pod", "during-outage", "-n", ns, "-o", "jsonpath={.spec.containers[0].resources}")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if strings.Contains(res.Stdout, "cpu") {
		t.Errorf("with Tollgate down no defaults can be set, yet resources are %s", res.Stdout)
	}
}
