package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

type allowAll struct{}

func (allowAll) Handle(context.Context, admission.Request) admission.Response {
	return admission.Allowed("")
}

type panics struct{}

func (panics) Handle(context.Context, admission.Request) admission.Response { panic("boom") }

// TestHTTPAnswers: what the API server (or anyone else) gets back for good
// and bad bodies: always an AdmissionReview, with the request's uid when
// there is one, and a bad request never allowed.
func TestHTTPAnswers(t *testing.T) {
	good := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"version":"v1","kind":"Pod"},"resource":{"version":"v1","resource":"pods"},"operation":"CREATE","namespace":"a","object":{}}}`
	tests := []struct {
		name, body, contentType string
		handler                 admission.Handler
		wantAllowed             bool
		wantCode                int32
		wantUID                 string
		wantMsg                 string
	}{
		{"allowed", good, "application/json", allowAll{}, true, 200, "u1", ""},
		{"panic is a 500", good, "application/json", panics{}, false, 500, "u1", "panic in admission: boom"},
		{"wrong content type", good, "text/plain", allowAll{}, false, 400, "", `content type "text/plain"`},
		{"empty body", "", "application/json", allowAll{}, false, 400, "", "request body is empty"},
		{"not JSON", "{", "application/json", allowAll{}, false, 400, "", "decode AdmissionReview"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "application/json", allowAll{}, false, 400, "", "has no request"},
		{"not a review", `{"apiVersion":"v1","kind":"Pod","request":{"uid":"x"}}`, "application/json", allowAll{}, false, 400, "", "expected an admission.k8s.io/v1 AdmissionReview"},
		{"field names are case-sensitive", strings.Replace(good, `"request"`, `"Request"`, 1), "application/json", allowAll{}, false, 400, "", "has no request"},
		{"too large", `{"x":"` + strings.Repeat("a", MaxReviewBytes) + `"}`, "application/json", allowAll{}, false, 413, "", "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/validate-v1-pod", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			HTTP{Handler: tc.handler}.ServeHTTP(rec, req)
			var out admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
				t.Fatalf("answer is not a review: %v: %s", err, rec.Body.String())
			}
			r := out.Response
			if out.Kind != "AdmissionReview" || out.APIVersion != "admission.k8s.io/v1" {
				t.Errorf("answer is a %s %s", out.APIVersion, out.Kind)
			}
			if r.Allowed != tc.wantAllowed || r.Result == nil || r.Result.Code != tc.wantCode || string(r.UID) != tc.wantUID {
				t.Errorf("allowed=%v code=%v uid=%q, want %v %v %q (%s)", r.Allowed, r.Result, r.UID, tc.wantAllowed, tc.wantCode, tc.wantUID, rec.Body.String())
			}
			if tc.wantMsg != "" && !strings.Contains(r.Result.Message, tc.wantMsg) {
				t.Errorf("message %q, want it to contain %q", r.Result.Message, tc.wantMsg)
			}
		})
	}
}
