package webhook

import (
	"encoding/json"
	"fmt"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// Patch is the JSON patch from the Pod as the API server sent it (raw) to
// mutated: a whole-object diff, as controller-runtime's PatchResponseFromRaw
// makes, so any change a decision makes reaches the patch.
func Patch(raw []byte, mutated *corev1.Pod) ([]jsonpatch.JsonPatchOperation, error) {
	b, err := json.Marshal(mutated)
	if err != nil {
		return nil, fmt.Errorf("encode the defaulted Pod: %w", err)
	}
	ops, err := jsonpatch.CreatePatch(raw, b)
	if err != nil {
		return nil, fmt.Errorf("diff the defaulted Pod: %w", err)
	}
	return ops, nil
}
