package pipeline

import (
	"encoding/json"
	"fmt"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
)

// Patch is the JSONPatch that turns the request's raw object into mutated.
// Marshalling through the Go type alone also drops or rewrites fields the
// decisions never touched (unknown fields, empty values, quantity spelling);
// those operations are left out, so the patch holds only what we changed.
func Patch(raw []byte, original, mutated *corev1.Pod) ([]jsonpatch.JsonPatchOperation, error) {
	orig, err := json.Marshal(original)
	if err != nil {
		return nil, fmt.Errorf("marshal original pod: %w", err)
	}
	mut, err := json.Marshal(mutated)
	if err != nil {
		return nil, fmt.Errorf("marshal mutated pod: %w", err)
	}
	ops, err := jsonpatch.CreatePatch(raw, mut)
	if err != nil {
		return nil, fmt.Errorf("diff pods: %w", err)
	}
	noise, err := jsonpatch.CreatePatch(raw, orig)
	if err != nil {
		return nil, fmt.Errorf("diff pods: %w", err)
	}
	if len(noise) == 0 {
		return ops, nil
	}
	seen := make(map[string]bool, len(noise))
	for _, op := range noise {
		seen[op.Json()] = true
	}
	out := ops[:0]
	for _, op := range ops {
		if !seen[op.Json()] {
			out = append(out, op)
		}
	}
	return out, nil
}
