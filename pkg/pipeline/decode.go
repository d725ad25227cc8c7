package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tollgate-dev/tollgate/pkg/policy"
)

// ErrNotPod is returned for an admission request about something other than a Pod.
var ErrNotPod = errors.New("not a Pod")

// Decode turns an AdmissionRequest into the pipeline's request and typed
// objects. pod is nil for DELETE and CONNECT; old is nil except on UPDATE.
// req remembers the JSON each was decoded from, which Validate gives
// policies for as long as the Pod is unchanged (see Request).
func Decode(ar *admissionv1.AdmissionRequest) (req Request, pod, old *corev1.Pod, err error) {
	if ar == nil {
		return Request{}, nil, nil, errors.New("admission review has no request")
	}
	if ar.Kind.Group != "" || ar.Kind.Kind != "Pod" {
		return Request{}, nil, nil, fmt.Errorf("kind %s: %w", ar.Kind.String(), ErrNotPod)
	}
	req = Request{Request: policy.Request{
		Operation:   string(ar.Operation),
		SubResource: ar.SubResource,
		Namespace:   ar.Namespace,
		Name:        ar.Name,
		DryRun:      ar.DryRun != nil && *ar.DryRun,
		UserInfo:    ar.UserInfo,
	}}
	if req.Namespace == "" {
		return Request{}, nil, nil, errors.New("request has no namespace: Pods are namespaced")
	}
	switch ar.Operation {
	case admissionv1.Create, admissionv1.Update:
	default:
		return req, nil, nil, nil
	}
	s := &sent{}
	if pod, s.podJSON, err = decodePod(ar.Object, "object"); err != nil {
		return Request{}, nil, nil, err
	}
	if ar.Operation == admissionv1.Update {
		if old, s.oldJSON, err = decodePod(ar.OldObject, "oldObject"); err != nil {
			return Request{}, nil, nil, err
		}
	}
	s.pod, s.old = pod, old
	s.huge = uncomputable(pod)
	if s.huge == "" && old != nil {
		if at := uncomputable(old); at != "" {
			s.huge = "oldObject " + at
		}
	}
	req.sent = s
	if req.Name == "" {
		req.Name = pod.Name
	}
	return req, pod, old, nil
}

// decodePod decodes a Pod, and returns it with the JSON it was read from.
func decodePod(raw runtime.RawExtension, field string) (*corev1.Pod, []byte, error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, nil, fmt.Errorf("request.%s is empty", field)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(data, &pod); err != nil {
		return nil, nil, fmt.Errorf("decode request.%s as a Pod: %w", field, err)
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, nil, fmt.Errorf("request.%s has kind %q: %w", field, pod.Kind, ErrNotPod)
	}
	// Decisions never read managedFields, and they are often the bulk of the
	// object: dropping them here halves what policies convert per request
	// (from data, policy.Input skips them too). The patch computation treats
	// their absence as noise, so none is removed.
	pod.ManagedFields = nil
	return &pod, data, nil
}

// sent is what Decode read: the Pods and the JSON they came from.
type sent struct {
	pod, old         *corev1.Pod
	podJSON, oldJSON []byte
	// huge names a quantity of pod too large to compute with (see
	// maxComputable); "" when there is none.
	huge string
}

// uncomputable is the field path of a quantity too large to compute with.
func (s *sent) uncomputable() string {
	if s == nil {
		return ""
	}
	return s.huge
}

// jsonOf returns the JSON pod was decoded from, or nil when pod is not a
// Pod Decode returned or has been changed since (forget).
func (s *sent) jsonOf(pod *corev1.Pod) []byte {
	switch {
	case s == nil || pod == nil:
		return nil
	case pod == s.pod:
		return s.podJSON
	case pod == s.old:
		return s.oldJSON
	}
	return nil
}

// forget records that pod is about to change, so its JSON no longer
// describes it.
func (s *sent) forget(pod *corev1.Pod) {
	if s != nil && pod != nil && pod == s.pod {
		s.pod = nil
	}
}
