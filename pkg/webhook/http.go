package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	k8sjson "sigs.k8s.io/json"
)

// MaxReviewBytes bounds an AdmissionReview body: two objects of at most
// 3 MiB (etcd's request limit, JSON-encoded) and 1 MiB for the rest, the
// bound controller-runtime's webhook uses too.
const MaxReviewBytes = 7 << 20

// HTTP serves an admission.Handler over HTTP. It does what
// controller-runtime's admission.Webhook does for the API server's requests
// with one pass over the body instead of two (that codec first reads the
// whole review to find its kind, then decodes it): read at most
// MaxReviewBytes, require application/json, decode the AdmissionReview
// (case-sensitive, integers kept, as the API machinery decodes), call the
// handler and write its response in the review's own apiVersion with the
// request's uid. Every error is answered as a review with allowed=false and
// an HTTP-like code in status, as the API server expects from a webhook.
type HTTP struct {
	Handler admission.Handler
}

var reviewVersions = map[string]bool{"admission.k8s.io/v1": true, "admission.k8s.io/v1beta1": true}

func (h HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := ctrl.LoggerFrom(r.Context())
	review, code, err := readReview(r)
	if err != nil {
		log.Error(err, "bad admission request")
		writeReview(w, "", admission.Errored(code, err))
		return
	}
	req := admission.Request{AdmissionRequest: *review.Request}
	writeReview(w, review.APIVersion, h.handle(r.Context(), req))
}

// handle runs the handler; a panic is a malfunction answered with 500,
// never a dead connection.
func (h HTTP) handle(ctx context.Context, req admission.Request) (resp admission.Response) {
	defer func() {
		if p := recover(); p != nil {
			ctrl.LoggerFrom(ctx).Error(fmt.Errorf("%v", p), "panic in admission handler", "uid", req.UID)
			resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("panic in admission: %v", p))
			resp.UID = req.UID
		}
	}()
	resp = h.Handler.Handle(ctx, req)
	if err := resp.Complete(req); err != nil { // sets uid, encodes the patch
		ctrl.LoggerFrom(ctx).Error(err, "complete admission response", "uid", req.UID)
		resp = admission.Errored(http.StatusInternalServerError, err)
		resp.UID = req.UID
	}
	return resp
}

// readReview reads and decodes the request's AdmissionReview; on error the
// code says whose fault it is.
func readReview(r *http.Request) (*admissionv1.AdmissionReview, int32, error) {
	if r.Body == nil {
		return nil, http.StatusBadRequest, errors.New("request body is empty")
	}
	defer r.Body.Close() //nolint:errcheck // read side
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return nil, http.StatusBadRequest, fmt.Errorf("content type %q, expected application/json", ct)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= MaxReviewBytes {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, MaxReviewBytes+1))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("read request body: %w", err)
	}
	if n == 0 {
		return nil, http.StatusBadRequest, errors.New("request body is empty")
	}
	if n > MaxReviewBytes {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", MaxReviewBytes)
	}
	var review admissionv1.AdmissionReview
	if err := k8sjson.UnmarshalCaseSensitivePreserveInts(buf.Bytes(), &review); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("decode AdmissionReview: %w", err)
	}
	switch {
	case review.Kind != "AdmissionReview" || !reviewVersions[review.APIVersion]:
		return nil, http.StatusBadRequest, fmt.Errorf("body is a %s %s, expected an admission.k8s.io/v1 AdmissionReview", review.APIVersion, review.Kind)
	case review.Request == nil:
		return nil, http.StatusBadRequest, errors.New("AdmissionReview has no request")
	}
	return &review, 0, nil
}

// writeReview writes resp as an AdmissionReview of apiVersion (v1 when
// the request's could not be read).
func writeReview(w http.ResponseWriter, apiVersion string, resp admission.Response) {
	if apiVersion == "" {
		apiVersion = admissionv1.SchemeGroupVersion.String()
	}
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		// The connection is gone: nothing else can be told to the caller.
		ctrl.Log.WithName("webhook").Error(err, "write admission response")
	}
}
