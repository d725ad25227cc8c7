package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// Comparing what users read: messages, codes and paths of reasons, the
// messages of warnings. TestCodesAndResources covers the other fields.
var (
	ignoreReasonResources = cmpopts.IgnoreFields(verdict.Reason{}, "Resources")
	messagesOnly          = cmp.Options{ignoreReasonResources, cmpopts.IgnoreFields(verdict.Warning{}, "Code", "Resources")}
)

// texts are warnings given by their messages alone (see messagesOnly).
func texts(msgs ...string) []verdict.Warning {
	out := make([]verdict.Warning, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, verdict.Warning{Message: m})
	}
	return out
}

// coded is a reason or warning as metrics read it.
type coded struct {
	Code      string
	Resources []string
}

// TestCodesAndResources: every reason and warning names its code and the
// quota resources it concerns, whatever its message says.
func TestCodesAndResources(t *testing.T) {
	app := pod(withContainer("app", req("cpu", "2", "memory", "1Gi")))
	tests := map[string]struct {
		in                     Input
		pending                corev1.ResourceList // the Ledger's earlier charge to "q", if any
		wantReasons, wantWarns []coded
	}{
		"exceeded names every resource past hard": {
			in: Input{Pod: app, Quotas: quotas(rq("q", hard("requests.cpu", "2", "requests.memory", "1Gi", "pods", "9"),
				used("requests.cpu", "1", "requests.memory", "512Mi", "pods", "0")))},
			wantReasons: []coded{{CodeExceeded, []string{"requests.cpu", "requests.memory"}}},
		},
		"must specify names the missing resources": {
			in:          Input{Pod: app, Quotas: quotas(rq("q", hard("limits.cpu", "8", "limits.memory", "8Gi"), used("limits.cpu", "0", "limits.memory", "0")))},
			wantReasons: []coded{{CodeMustSpecify, []string{"limits.cpu", "limits.memory"}}},
		},
		"status unknown names the constrained resources": {
			in:          Input{Pod: app, Quotas: quotas(rq("q", hard("requests.memory", "8Gi", "pods", "5")))},
			wantReasons: []coded{{CodeStatusUnknown, []string{"pods", "requests.memory"}}},
		},
		"near limit, one warning per resource": {
			in: Input{Pod: app, Quotas: quotas(rq("q", hard("requests.cpu", "2", "requests.memory", "1Gi", "pods", "9"),
				used("requests.cpu", "0", "requests.memory", "0", "pods", "0")))},
			wantWarns: []coded{{CodeNearLimit, []string{"requests.cpu"}}, {CodeNearLimit, []string{"requests.memory"}}},
		},
		"warn mode keeps the reason's code and resources": {
			in: Input{Pod: app, Options: Options{Mode: ModeWarn},
				Quotas: quotas(rq("q", hard("requests.cpu", "1"), used("requests.cpu", "0")))},
			wantWarns: []coded{{CodeExceeded, []string{"requests.cpu"}}},
		},
		"pending charges name the resources past status.used plus pending": {
			in:        Input{Pod: app, Quotas: quotas(rq("q", hard("requests.cpu", "3", "pods", "9"), used("requests.cpu", "0", "pods", "0")))},
			pending:   list("requests.cpu", "2", "pods", "1"),
			wantWarns: []coded{{CodePendingCharges, []string{"requests.cpu"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Operation = "CREATE"
			p := predict(tc.in, func(*corev1.ResourceQuota) corev1.ResourceList { return tc.pending }, false)
			got := render(p, tc.in.Options.Mode)
			var reasons, warns []coded
			for _, r := range got.Reasons {
				reasons = append(reasons, coded{r.Code, r.Resources})
			}
			for _, w := range got.Warnings {
				warns = append(warns, coded{w.Code, w.Resources})
			}
			if diff := cmp.Diff(tc.wantReasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWarns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
