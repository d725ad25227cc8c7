package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ErrNotPod is returned for an admission request about something other than a Pod.
var ErrNotPod = errors.New("not a Pod")

// Decode turns an AdmissionRequest into the pipeline's request and typed
// objects. pod is nil for DELETE and CONNECT; old is nil except on UPDATE.
func Decode(ar *admissionv1.AdmissionRequest) (req Request, pod, old *corev1.Pod, err error) {
	if ar == nil {
		return Request{}, nil, nil, errors.New("admission review has no request")
	}
	if ar.Kind.Group != "" || ar.Kind.Kind != "Pod" {
		return Request{}, nil, nil, fmt.Errorf("kind %s: %w", ar.Kind.String(), ErrNotPod)
	}
	req = Request{
		Operation:   string(ar.Operation),
		SubResource: ar.SubResource,
		Namespace:   ar.Namespace,
		Name:        ar.Name,
		DryRun:      ar.DryRun != nil && *ar.DryRun,
		UserInfo:    ar.UserInfo,
	}
	if req.Namespace == "" {
		return Request{}, nil, nil, errors.New("request has no namespace: Pods are namespaced")
	}
	switch ar.Operation {
	case admissionv1.Create, admissionv1.Update:
	default:
		return req, nil, nil, nil
	}
	if pod, err = decodePod(ar.Object, "object"); err != nil {
		return Request{}, nil, nil, err
	}
	if ar.Operation == admissionv1.Update {
		if old, err = decodePod(ar.OldObject, "oldObject"); err != nil {
			return Request{}, nil, nil, err
		}
	}
	if req.Name == "" {
		req.Name = pod.Name
	}
	return req, pod, old, nil
}

func decodePod(raw runtime.RawExtension, field string) (*corev1.Pod, error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, fmt.Errorf("request.%s is empty", field)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(data, &pod); err != nil {
		return nil, fmt.Errorf("decode request.%s as a Pod: %w", field, err)
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, fmt.Errorf("request.%s has kind %q: %w", field, pod.Kind, ErrNotPod)
	}
	// Decisions never read managedFields, and they are often the bulk of the
	// object: dropping them here halves what policies convert per request.
	// The patch computation treats their absence as noise, so none is removed.
	pod.ManagedFields = nil
	if err := checkQuantities(&pod, field); err != nil {
		return nil, err
	}
	return &pod, nil
}
