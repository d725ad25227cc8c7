package pipeline

import (
	"bytes"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "sigs.k8s.io/json"

	"github.com/tollgate-dev/tollgate/pkg/policy"
	"github.com/tollgate-dev/tollgate/pkg/workload"
)

// ErrNotPod is returned for an admission request about something other than
// a Pod or a supported workload.
var ErrNotPod = errors.New("not a Pod")

// Request is a decoded admission request: what policies see as
// input.request, and the typed objects. For a Pod, Pod and OldPod are set;
// for a workload, Workload and OldWorkload. Objects are nil for operations
// other than CREATE and UPDATE; the old ones are nil except on UPDATE.
type Request struct {
	policy.Request
	// UID is the AdmissionRequest's uid; the quota ledger keys a charge by
	// it when the Pod has no metadata.uid.
	UID         string
	Resource    metav1.GroupVersionResource
	Pod, OldPod *corev1.Pod
	// ObjectJSON is request.object exactly as the API server sent it, the
	// JSON of Pod: policies read it directly instead of Pod re-encoded.
	// Decode sets it; WithPod, the way to validate another Pod, clears it.
	ObjectJSON            []byte
	Workload, OldWorkload *workload.Workload
	// Uncomputable names a quantity of Pod or OldPod too large to compute
	// with (see maxComputable); "" when there is none.
	Uncomputable string
}

// WithPod is req about pod instead (a copy changed by defaults, say): its
// policies see pod re-encoded, not the bytes the API server sent.
func (r Request) WithPod(pod *corev1.Pod) Request {
	r.Pod, r.ObjectJSON = pod, nil
	return r
}

// IsWorkload reports a request for /validate-workloads rather than a Pod.
func (r Request) IsWorkload() bool { return r.Resource.Resource != "" && r.Resource.Resource != "pods" }

// Decode reads an admission request about a Pod or a supported workload.
// Every error means a bad request.
func Decode(ar *admissionv1.AdmissionRequest) (Request, error) {
	if ar == nil {
		return Request{}, errors.New("admission review has no request")
	}
	pod := ar.Kind.Group == "" && ar.Kind.Kind == "Pod"
	if !pod && !workload.Supported(ar.Kind) {
		return Request{}, fmt.Errorf("kind %s: %w", ar.Kind.String(), ErrNotPod)
	}
	req := Request{Request: policy.Request{
		Operation: string(ar.Operation), SubResource: ar.SubResource, Namespace: ar.Namespace,
		Name: ar.Name, DryRun: ar.DryRun != nil && *ar.DryRun, UserInfo: ar.UserInfo,
	}, UID: string(ar.UID), Resource: ar.Resource}
	if pod {
		req.Resource = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	} else if req.Resource.Resource == "" || req.Resource.Resource == "pods" {
		req.Resource.Resource = workload.Resource(ar.Kind.Kind)
	}
	if req.Namespace == "" {
		return Request{}, fmt.Errorf("request has no namespace: %s objects are namespaced", ar.Kind.Kind)
	}
	if ar.Operation != admissionv1.Create && ar.Operation != admissionv1.Update {
		return req, nil
	}
	var err error
	if pod {
		err = req.decodePods(ar)
	} else {
		err = req.decodeWorkloads(ar)
	}
	return req, err
}

func (req *Request) decodePods(ar *admissionv1.AdmissionRequest) error {
	var err error
	var exact bool
	if req.Pod, exact, err = decodePod(ar.Object, "object"); err != nil {
		return err
	}
	if exact {
		req.ObjectJSON = bytes.TrimSpace(ar.Object.Raw)
	}
	if ar.Operation == admissionv1.Update {
		if req.OldPod, _, err = decodePod(ar.OldObject, "oldObject"); err != nil {
			return err
		}
	}
	req.Uncomputable = podUncomputable(req.Pod, req.OldPod)
	if req.Name == "" {
		req.Name = req.Pod.Name
	}
	return nil
}

// decodePod decodes a Pod as the API machinery does (field names
// case-sensitive, integers kept). exact reports that every field of the
// JSON is a field of the typed Pod: then the JSON says nothing the typed
// Pod does not, and policies may read it as sent (the API server only ever
// sends such JSON). A repeated field needs no check: here and in
// policy.jsonValue the last one wins, as in encoding/json.
func decodePod(raw runtime.RawExtension, field string) (pod *corev1.Pod, exact bool, err error) {
	data := bytes.TrimSpace(raw.Raw)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return nil, false, fmt.Errorf("request.%s is empty", field)
	}
	pod = &corev1.Pod{}
	strict, err := k8sjson.UnmarshalStrict(data, pod, k8sjson.DisallowUnknownFields)
	if err != nil {
		return nil, false, fmt.Errorf("decode request.%s as a Pod: %w", field, err)
	}
	if pod.Kind != "" && pod.Kind != "Pod" {
		return nil, false, fmt.Errorf("request.%s has kind %q: %w", field, pod.Kind, ErrNotPod)
	}
	return pod, len(strict) == 0, nil
}

func (req *Request) decodeWorkloads(ar *admissionv1.AdmissionRequest) error {
	for _, o := range []struct {
		field string
		raw   []byte
		into  **workload.Workload
	}{{"object", ar.Object.Raw, &req.Workload}, {"oldObject", ar.OldObject.Raw, &req.OldWorkload}} {
		if o.field == "oldObject" && ar.Operation != admissionv1.Update {
			break
		}
		w, err := workload.Decode(ar.Kind, o.raw)
		if err != nil {
			return fmt.Errorf("request.%s: %w", o.field, err)
		}
		w.Namespace = req.Namespace // the request's namespace is authoritative
		if w.Name == "" {
			w.Name = req.Name
		}
		*o.into = w
	}
	return nil
}
