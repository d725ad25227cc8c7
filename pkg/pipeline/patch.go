package pipeline

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	jsonpatch "gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/pkg/defaults"
)

// Patch is the JSONPatch that turns the request's raw object into mutated.
// Marshalling through the Go type alone also drops or rewrites fields the
// decisions never touched (unknown fields, empty values, quantity spelling);
// those operations are left out, so the patch holds only what we changed.
//
// The answer is the diff raw → mutated minus the diff raw → original. When
// the two Pods differ only where defaults write (annotations, container
// and init container resources), both diffs are identical everywhere else,
// so only those fields are diffed; anything else takes the whole-Pod path.
func Patch(raw []byte, original, mutated *corev1.Pod) ([]jsonpatch.JsonPatchOperation, error) {
	if ops, ok, err := patchDefaulted(raw, original, mutated, nil); ok || err != nil {
		return ops, err
	}
	return patchWhole(raw, original, mutated)
}

// PatchWritten is Patch for a mutated Pod that differs from original only
// where w says, w being what defaults.Apply reported writing. It trusts w
// instead of comparing the two Pods field by field (the contract test in
// pkg/defaults holds Apply to its report), so only the reported fields are
// read. Raw objects the restricted diff cannot answer for still take the
// whole-Pod diff.
func PatchWritten(raw []byte, original, mutated *corev1.Pod, w defaults.Written) ([]jsonpatch.JsonPatchOperation, error) {
	if ops, ok, err := patchDefaulted(raw, original, mutated, &w); ok || err != nil {
		return ops, err
	}
	return patchWhole(raw, original, mutated)
}

// patchWhole diffs the whole marshalled Pods against raw.
func patchWhole(raw []byte, original, mutated *corev1.Pod) ([]jsonpatch.JsonPatchOperation, error) {
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
	return withoutNoise(ops, noise), nil
}

// withoutNoise drops from ops every operation noise holds too.
func withoutNoise(ops, noise []jsonpatch.JsonPatchOperation) []jsonpatch.JsonPatchOperation {
	if len(noise) == 0 {
		return ops
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
	return out
}

// patchDefaulted is Patch restricted to the fields defaults write: those w
// reports, or, when w is nil, the annotations and every container's
// resources, after checking that the Pods differ nowhere else. ok is false
// when it cannot answer exactly: the Pods differ elsewhere, or raw is not
// shaped so that the whole-Pod diff would descend to those fields.
func patchDefaulted(raw []byte, original, mutated *corev1.Pod, w *defaults.Written) (ops []jsonpatch.JsonPatchOperation, ok bool, err error) {
	if original == nil || mutated == nil || (w == nil && !sameBesideDefaults(original, mutated)) {
		return nil, false, nil
	}
	ops = []jsonpatch.JsonPatchOperation{}
	var top [][]byte // raw metadata and spec, read in one pass when first needed
	topLevel := func() [][]byte {
		if top == nil {
			top = make([][]byte, 2)
			members(raw, []string{"metadata", "spec"}, top)
		}
		return top
	}
	if (w == nil || w.Annotation) && !reflect.DeepEqual(original.Annotations, mutated.Annotations) {
		r, ok := member(topLevel()[0], "annotations")
		if !ok {
			return nil, false, nil
		}
		o, m, err := marshalPair(original.Annotations, mutated.Annotations, len(original.Annotations) > 0, len(mutated.Annotations) > 0)
		if err != nil {
			return nil, true, err
		}
		if ops, err = diffMember(ops, "/metadata/annotations", r, o, m); err != nil {
			return nil, true, err
		}
	}
	keys := []string{"containers", "initContainers"}
	lists := [][2][]corev1.Container{
		{original.Spec.Containers, mutated.Spec.Containers},
		{original.Spec.InitContainers, mutated.Spec.InitContainers},
	}
	var reported [][]int
	if w != nil {
		reported = [][]int{w.Containers, w.InitContainers}
	}
	var arrs [][]byte // raw spec.containers and spec.initContainers, read once
	for li, l := range lists {
		if len(l[0]) != len(l[1]) {
			return nil, false, nil // only a report can get here: Apply never adds or drops containers
		}
		n := len(l[0])
		if reported != nil {
			n = len(reported[li])
		}
		var elems [][]byte
		for k := range n {
			i := k
			if reported != nil {
				if i = reported[li][k]; i < 0 || i >= len(l[0]) {
					return nil, false, nil
				}
			}
			if sameResources(l[0][i].Resources, l[1][i].Resources) {
				continue
			}
			if arrs == nil {
				arrs = make([][]byte, len(keys))
				if !members(topLevel()[1], keys, arrs) {
					return nil, false, nil
				}
			}
			if elems == nil {
				if elems, ok = elements(arrs[li]); !ok || len(elems) != len(l[0]) {
					return nil, false, nil
				}
			}
			r, ok := member(elems[i], "resources")
			if !ok {
				return nil, false, nil
			}
			o, m, err := marshalPair(l[0][i].Resources, l[1][i].Resources, true, true)
			if err != nil {
				return nil, true, err
			}
			if ops, err = diffMember(ops, "/spec/"+keys[li]+"/"+strconv.Itoa(i)+"/resources", r, o, m); err != nil {
				return nil, true, err
			}
		}
	}
	return ops, true, nil
}

// sameBesideDefaults reports whether the Pods are equal once annotations
// and container resources are set aside.
func sameBesideDefaults(a, b *corev1.Pod) bool {
	strip := func(p *corev1.Pod) corev1.Pod {
		c := *p
		c.Annotations = nil
		c.Spec.Containers = withoutResources(p.Spec.Containers)
		c.Spec.InitContainers = withoutResources(p.Spec.InitContainers)
		return c
	}
	sa, sb := strip(a), strip(b)
	return reflect.DeepEqual(&sa, &sb)
}

// sameResources reports whether both marshal alike: a quantity marshals to
// its canonical form, which its value and format decide.
func sameResources(a, b corev1.ResourceRequirements) bool {
	return sameList(a.Limits, b.Limits) && sameList(a.Requests, b.Requests) && reflect.DeepEqual(a.Claims, b.Claims)
}

func sameList(a, b corev1.ResourceList) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for name, qa := range a {
		qb, ok := b[name]
		if !ok || qa.Format != qb.Format || qa.Cmp(qb) != 0 {
			return false
		}
	}
	return true
}

func withoutResources(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i := range cs {
		out[i] = cs[i]
		out[i].Resources = corev1.ResourceRequirements{}
	}
	return out
}

// marshalPair marshals the original and mutated value of one field; nil
// stands for a field the marshalled Pod leaves out (present false).
func marshalPair(o, m any, oPresent, mPresent bool) (ob, mb []byte, err error) {
	if oPresent {
		if ob, err = json.Marshal(o); err != nil {
			return nil, nil, fmt.Errorf("marshal original pod: %w", err)
		}
	}
	if mPresent {
		if mb, err = json.Marshal(m); err != nil {
			return nil, nil, fmt.Errorf("marshal mutated pod: %w", err)
		}
	}
	return ob, mb, nil
}

// diffMember appends to ops what the whole-Pod diff yields at path for
// one object member: raw value r, original o, mutated m, each nil when
// the member is absent.
func diffMember(ops []jsonpatch.JsonPatchOperation, path string, r, o, m []byte) ([]jsonpatch.JsonPatchOperation, error) {
	if r == nil {
		if m == nil {
			return ops, nil
		}
		var mv any
		if err := json.Unmarshal(m, &mv); err != nil {
			return nil, fmt.Errorf("diff pods: %w", err)
		}
		add := jsonpatch.NewOperation("add", path, mv)
		if o != nil {
			var ov any
			if err := json.Unmarshal(o, &ov); err != nil {
				return nil, fmt.Errorf("diff pods: %w", err)
			}
			if noise := jsonpatch.NewOperation("add", path, ov); noise.Json() == add.Json() {
				return ops, nil
			}
		}
		return append(ops, add), nil
	}
	if m == nil {
		if o == nil {
			return ops, nil // removed in both diffs
		}
		return append(ops, jsonpatch.NewOperation("remove", path, nil)), nil
	}
	changed, err := jsonpatch.CreatePatch(r, m)
	if err != nil {
		return nil, fmt.Errorf("diff pods: %w", err)
	}
	var noise []jsonpatch.JsonPatchOperation
	if o != nil { // else the noise is a remove at path, which m being present never matches
		if noise, err = jsonpatch.CreatePatch(r, o); err != nil {
			return nil, fmt.Errorf("diff pods: %w", err)
		}
	}
	for _, op := range withoutNoise(changed, noise) {
		op.Path = path + op.Path
		ops = append(ops, op)
	}
	return ops, nil
}
