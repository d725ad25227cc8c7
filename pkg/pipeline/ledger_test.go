package pipeline_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tollgate-dev/tollgate/pkg/cluster"
	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/pkg/pipeline"
	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/quota"
)

// gatePolicy denies Pods labelled forbid=yes.
const gatePolicy = `package tollgate.gate

deny contains "label forbid=yes is refused" if input.object.metadata.labels.forbid == "yes"
`

// ledgerFacts: in namespace "team", a quota with room for one 3-cpu Pod
// (4 cpu, none used) and a LimitRange capping containers at 3500m.
const ledgerFacts = `apiVersion: v1
kind: ResourceQuota
metadata: {name: compute, namespace: team}
status:
  hard: {requests.cpu: "4"}
  used: {requests.cpu: "0"}
---
apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: team}
spec:
  limits:
  - type: Container
    max: {cpu: 3500m}
`

// ledgerPod is a 3-cpu Pod; uid "" leaves metadata.uid out.
func ledgerPod(uid, label, cpuLimit string) []byte {
	meta := `"name": "p", "namespace": "team"`
	if uid != "" {
		meta += fmt.Sprintf(`, "uid": %q`, uid)
	}
	if label != "" {
		meta += fmt.Sprintf(`, "labels": {"forbid": %q}`, label)
	}
	return []byte(fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {%s},
  "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
    "resources": {"requests": {"cpu": "3"}, "limits": {"cpu": %q}}}]}}`, meta, cpuLimit))
}

// TestDeniedRequestReleasesItsCharge: a Pod that fits the quota is charged
// by the ledger, but when another Tollgate step denies the same request the
// charge is released, so the next Pod is not warned about a Pod that will
// never exist.
func TestDeniedRequestReleasesItsCharge(t *testing.T) {
	tests := map[string]struct {
		object      []byte
		dryRun      bool
		wantAllowed bool
		wantReason  string // a code prefix of the denial
		wantPending string // the ledger's pending requests.cpu after the request
	}{
		"admitted: charged":                {object: ledgerPod("uid-1", "", "3"), wantAllowed: true, wantPending: "3"},
		"admitted without metadata.uid":    {object: ledgerPod("", "", "3"), wantAllowed: true, wantPending: "3"},
		"dry run: not charged":             {object: ledgerPod("uid-1", "", "3"), dryRun: true, wantAllowed: true},
		"policy denies: released":          {object: ledgerPod("uid-1", "yes", "3"), wantReason: "policy.", wantPending: ""},
		"policy denies, no uid: released":  {object: ledgerPod("", "yes", "3"), wantReason: "policy.", wantPending: ""},
		"limit range denies: released":     {object: ledgerPod("uid-1", "", "4"), wantReason: "limits.", wantPending: ""},
		"policy and limits deny: released": {object: ledgerPod("uid-1", "yes", "4"), wantReason: "limits.", wantPending: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ledger := quota.NewLedger(fixedClock)
			p := ledgerPipeline(t, ledger)
			out, err := p.Review(t.Context(), podCreate("req-1", tc.object, tc.dryRun))
			if err != nil {
				t.Fatal(err)
			}
			if out.Allowed != tc.wantAllowed {
				t.Fatalf("allowed = %v, want %v: %+v", out.Allowed, tc.wantAllowed, out.Reasons)
			}
			if tc.wantReason != "" && (len(out.Reasons) == 0 || !strings.HasPrefix(out.Reasons[0].Code, tc.wantReason)) {
				t.Errorf("reasons %+v, want one starting with %q", out.Reasons, tc.wantReason)
			}
			have := ""
			if q, ok := ledger.Pending("team")["compute"]["requests.cpu"]; ok {
				have = q.String()
			}
			if have != tc.wantPending {
				t.Errorf("pending requests.cpu = %q, want %q", have, tc.wantPending)
			}
			// What a user sees: the next 3-cpu Pod is warned only if the
			// first one still holds its charge.
			next, err := p.Review(t.Context(), podCreate("req-2", ledgerPod("uid-2", "", "3"), false))
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(strings.Join(next.Warnings, "\n"), quota.CodePendingCharges+": ")
			if !next.Allowed || warned != (tc.wantPending != "") {
				t.Errorf("next Pod: allowed %v, pending warning %v (want true, %v): %q", next.Allowed, warned, tc.wantPending != "", next.Warnings)
			}
		})
	}
}

func fixedClock() time.Time { return time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC) }

func ledgerPipeline(t *testing.T, ledger *quota.Ledger) *pipeline.Pipeline {
	t.Helper()
	facts := cluster.NewStatic()
	if err := facts.AddYAML([]byte(ledgerFacts), "test"); err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(t.Context(), fstest.MapFS{"gate.rego": {Data: []byte(gatePolicy)}})
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.New(facts, &pipeline.State{Config: config.Default(), Policies: engine}, pipeline.Options{Ledger: ledger})
}

func podCreate(uid string, object []byte, dryRun bool) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{
		UID:  types.UID(uid),
		Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Operation: admissionv1.Create, Namespace: "team", Name: "p", DryRun: &dryRun,
		Object: runtime.RawExtension{Raw: object},
	}
}
