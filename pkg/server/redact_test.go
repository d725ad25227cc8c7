package server

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
	tgwebhook "github.com/tollgate-dev/tollgate/pkg/webhook"
)

func TestQuotaAmountsWithheldWithoutClientCertificate(t *testing.T) {
	denied := tgwebhook.Deny(verdict.Verdict{
		Reasons: []verdict.Reason{
			{Code: "quota.exceeded", Message: `exceeded quota "q" in namespace "team-b": requests.cpu: requested 2, used 7 of 8 (1 free)`},
			{Code: "quota.must-specify", Message: "failed quota: q: must specify limits.cpu for: app"},
			{Code: "policy.allowed-registries", Message: "image evil.example.com/x is not from an allowed registry"},
		},
		Warnings: []verdict.Warning{
			{Code: "quota.near-limit", Message: `quota.near-limit: quota "q": requests.memory will be 7Gi of 8Gi (87%) after this Pod`},
			{Code: "policy.disallowed-tags", Message: "disallowed-tags: latest"},
			{Code: "quota.pending-charges", Message: `quota.pending-charges: quota "q" in namespace "team-b": pods: requested 1, used 3 of 5 in quota status (2 free), plus 4 pending; the Pod fits status.used`},
		},
	})
	h := withheldQuota(admission.HandlerFunc(func(context.Context, admission.Request) admission.Response { return denied }))
	resp := h.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Namespace: "team-b"}})

	all := resp.Result.Message + "\n" + strings.Join(resp.Warnings, "\n")
	for _, secret := range []string{"used 7", "of 8", "1 free", "7Gi", "8Gi", "87%", "used 3", "of 5", "4 pending"} {
		if strings.Contains(all, secret) {
			t.Errorf("answer still shows %q:\n%s", secret, all)
		}
	}
	for _, kept := range []string{"must specify limits.cpu for: app", "evil.example.com/x is not from an allowed registry", "disallowed-tags: latest", "kubectl describe resourcequota -n team-b"} {
		if !strings.Contains(all, kept) {
			t.Errorf("answer lost %q:\n%s", kept, all)
		}
	}
	if resp.Allowed || len(resp.Result.Details.Causes) != 3 || resp.Result.Details.Causes[0].Type != "quota.exceeded" {
		t.Errorf("the decision or its causes changed: allowed=%v causes=%+v", resp.Allowed, resp.Result.Details.Causes)
	}
	if !strings.HasPrefix(resp.Warnings[0], "quota.near-limit: ") || !strings.HasPrefix(resp.Warnings[2], "quota.pending-charges: ") {
		t.Errorf("warnings lost their codes: %q", resp.Warnings)
	}
}
