package pipeline

import (
	"encoding/json"
	"fmt"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// Patch is the JSONPatch that turns original into mutated. Both are
// marshalled from the same Go type, so the patch holds only what the
// decisions changed, never removals of fields the Go type does not know.
func Patch(original, mutated *corev1.Pod) ([]jsonpatch.JsonPatchOperation, error) {
	a, err := json.Marshal(original)
	if err != nil {
		return nil, fmt.Errorf("marshal original pod: %w", err)
	}
	b, err := json.Marshal(mutated)
	if err != nil {
		return nil, fmt.Errorf("marshal mutated pod: %w", err)
	}
	ops, err := jsonpatch.CreatePatch(a, b)
	if err != nil {
		return nil, fmt.Errorf("diff pods: %w", err)
	}
	return ops, nil
}
