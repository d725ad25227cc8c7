package apidefaults

import (
	"bytes"
	"encoding/json"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Request applies Pod to the object and old object of a Pod request, as
// the API server has before it calls a webhook (it defaulted the stored
// old object when it was written). Other kinds are left alone.
func Request(ar *admissionv1.AdmissionRequest) error {
	if ar == nil || ar.Kind.Group != "" || ar.Kind.Kind != "Pod" {
		return nil
	}
	for _, f := range []struct {
		name string
		raw  *runtime.RawExtension
	}{{"object", &ar.Object}, {"oldObject", &ar.OldObject}} {
		data := bytes.TrimSpace(f.raw.Raw)
		if len(data) == 0 || bytes.Equal(data, []byte("null")) {
			continue
		}
		var pod corev1.Pod
		if err := json.Unmarshal(data, &pod); err != nil {
			return fmt.Errorf("decode request.%s as a Pod: %w", f.name, err)
		}
		Pod(&pod)
		out, err := json.Marshal(&pod)
		if err != nil {
			return fmt.Errorf("encode request.%s: %w", f.name, err)
		}
		f.raw.Raw = out
	}
	return nil
}
