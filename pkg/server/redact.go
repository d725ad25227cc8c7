package server

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Quota reason codes whose messages carry no amounts, only names of
// resources, quotas and containers: they are kept as they are.
var quotaCodesWithoutAmounts = map[string]bool{"quota.must-specify": true, "quota.status-unknown": true}

// withheldQuota replaces the amounts of quota reasons and warnings (used,
// hard, free, requested) with a pointer to where the caller can read them
// under its own RBAC. It wraps the handlers when no client certificate is
// required: then anything that reaches the port could have sent the review,
// for a namespace it cannot read, and a quota's figures are that
// namespace's business. With mutual TLS on, only the API server gets an
// answer, after it authorized the requester for that namespace.
func withheldQuota(next admission.Handler) admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		resp := next.Handle(ctx, req)
		return redactQuota(resp, req.Namespace)
	})
}

func redactQuota(resp admission.Response, namespace string) admission.Response {
	for i, w := range resp.Warnings {
		code, _, ok := strings.Cut(w, ": ")
		if ok && hasAmounts(code) {
			resp.Warnings[i] = code + ": " + withheld(namespace)
		}
	}
	if resp.Result == nil || resp.Result.Details == nil {
		return resp
	}
	changed := false
	msgs := make([]string, 0, len(resp.Result.Details.Causes))
	for i, c := range resp.Result.Details.Causes {
		if hasAmounts(string(c.Type)) {
			resp.Result.Details.Causes[i].Message = withheld(namespace)
			changed = true
		}
		msgs = append(msgs, resp.Result.Details.Causes[i].Message)
	}
	if changed {
		resp.Result.Message = strings.Join(msgs, "; ")
	}
	return resp
}

func hasAmounts(code string) bool {
	return strings.HasPrefix(code, "quota.") && !quotaCodesWithoutAmounts[code]
}

func withheld(namespace string) string {
	return fmt.Sprintf("a ResourceQuota of namespace %q is exceeded or close to it; its amounts are withheld because Tollgate "+
		"cannot tell that this request came from the API server (no client certificate required): see "+
		"`kubectl describe resourcequota -n %s`", namespace, namespace)
}
