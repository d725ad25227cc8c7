package test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/apidefaults"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/fixture"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
	"github.com/tollgate-dev/tollgate/pkg/webhook"
	"github.com/tollgate-dev/tollgate/policies"
)

// TestLedgerBurstThroughHandler sends a burst of creates for the Pod of the
// fixture quota/create-below-quota (quota "compute": pods 3 of 5 used in
// status, which the burst never updates) to the validating handler of a
// pipeline with a ledger, as the server runs it. A fixture holds one
// request and `tollgate eval` keeps no ledger, so the burst lives here.
func TestLedgerBurstThroughHandler(t *testing.T) {
	c, err := fixture.Load("fixtures/quota/create-below-quota")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC) }
	ledger := quota.NewLedger(clock)
	p := pipeline.New(c.Facts, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{Ledger: ledger})
	h := &admission.Webhook{Handler: &webhook.PodValidator{Pipeline: p}}

	const pending = `quota.pending-charges: quota "compute" in namespace "team-a": pods: requested 1, used 3 of 5 in quota status (2 free), plus 2 pending; ` +
		`the Pod fits status.used but not status.used plus the charges still pending from Pods admitted moments ago, so Tollgate admits it and the in-tree ResourceQuota decides`
	steps := []struct {
		name            string
		podUID, reqUID  string
		dryRun          bool
		wantWarnings    []string
		wantPendingPods string
	}{
		{name: "first Pod", podUID: "pod-a", reqUID: "req-1", wantPendingPods: "1"},
		{name: "the API server retries it: charged once, same answer", podUID: "pod-a", reqUID: "req-2", wantPendingPods: "1"},
		{name: "second Pod fills the quota with the first pending", podUID: "pod-b", reqUID: "req-3", wantPendingPods: "2",
			wantWarnings: []string{`quota.near-limit: quota "compute": pods will be 5 of 5 (100%) after this Pod`}},
		{name: "a dry run sees the pending charges but adds none", podUID: "pod-c", reqUID: "req-4", dryRun: true, wantPendingPods: "2",
			wantWarnings: []string{pending}},
		{name: "third Pod fits status.used only: admitted with a warning", podUID: "pod-c", reqUID: "req-5", wantPendingPods: "3",
			wantWarnings: []string{pending}},
	}
	for _, s := range steps {
		req := c.Review.Request.DeepCopy()
		req.UID, req.DryRun = types.UID(s.reqUID), &s.dryRun
		req.Object.Raw = withPodUID(t, req.Object.Raw, s.podUID)
		if err := apidefaults.Request(req); err != nil {
			t.Fatal(err)
		}
		resp := serve(t, h, req)
		if !resp.Allowed {
			t.Fatalf("step %q: denied: %+v", s.name, resp.Result)
		}
		if diff := cmp.Diff(s.wantWarnings, resp.Warnings, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("step %q: warnings (-want +got):\n%s", s.name, diff)
		}
		pods := ledger.Pending("team-a")["compute"][corev1.ResourcePods]
		if pods.String() != s.wantPendingPods {
			t.Errorf("step %q: pending pods %s, want %s", s.name, pods.String(), s.wantPendingPods)
		}
	}
}

func withPodUID(t *testing.T, raw []byte, uid string) []byte {
	t.Helper()
	var pod corev1.Pod
	if err := json.Unmarshal(raw, &pod); err != nil {
		t.Fatal(err)
	}
	pod.UID = types.UID(uid)
	out, err := json.Marshal(&pod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
