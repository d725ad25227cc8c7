package policy

import (
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
	corev1 "k8s.io/api/core/v1"
)

// The input document every policy sees, built once per request and shared
// by every policy (only input.parameters differs):
//
//	input.request    {operation, subResource, namespace, name, dryRun, userInfo}
//	input.object     the Pod after defaults, in its JSON (API) form
//	input.oldObject  the Pod before the change (UPDATE only), else absent
//	input.namespace  the Namespace object, else absent
//	input.images     signature verification results by image reference
//	                 ({} when verification is not configured)
//	input.parameters the policy's parameters ({} when none are configured)
//
// Objects are the typed values' JSON (API) form, Pods without
// metadata.managedFields, converted as OPA's ast.InterfaceToValue would
// (jsonValue), so the webhook, `tollgate eval` and `tollgate test` give
// policies the same document for the same Pod.
//
// policies/schemas/input.json describes it.

var (
	keyRequest    = ast.InternedTerm("request")
	keyObject     = ast.InternedTerm("object")
	keyOldObject  = ast.InternedTerm("oldObject")
	keyNamespace  = ast.InternedTerm("namespace")
	keyParameters = ast.InternedTerm("parameters")
	keyImages     = ast.InternedTerm("images")
	noImages      = ast.ObjectTerm()
)

// document is the per-request part of the input, converted once.
type document struct {
	request, object, oldObject, namespace, images *ast.Term
	// rules are the rule values the request's queries share (share.go);
	// nil when they cannot.
	rules topdown.VirtualCache
}

// newDocument converts in to Rego values once per request.
func newDocument(in Input) (*document, error) {
	d := &document{request: requestTerm(in.Request), images: noImages}
	var err error
	if len(in.Images) > 0 {
		if d.images, err = toTerm(in.Images); err != nil {
			return nil, fmt.Errorf("convert images: %w", err)
		}
	}
	if d.object, err = objectTerm(in); err != nil {
		return nil, fmt.Errorf("convert object: %w", err)
	}
	if in.OldObject != nil {
		if d.oldObject, err = toTerm(withoutManagedFields(in.OldObject)); err != nil {
			return nil, fmt.Errorf("convert oldObject: %w", err)
		}
	}
	if in.Namespace != nil {
		if d.namespace, err = toTerm(in.Namespace); err != nil {
			return nil, fmt.Errorf("convert namespace: %w", err)
		}
	}
	return d, nil
}

// objectTerm is input.object: the sent JSON read in one pass when the
// caller has it, else the typed Pod converted through its JSON form.
func objectTerm(in Input) (*ast.Term, error) {
	if len(in.ObjectJSON) == 0 {
		return toTerm(withoutManagedFields(in.Object))
	}
	v, err := jsonValue(in.ObjectJSON)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("object is a %s, not an object", ast.ValueName(v))
	}
	return ast.NewTerm(dropManagedFields(obj)), nil
}

var (
	keyMetadata      = ast.InternedTerm("metadata")
	keyManagedFields = ast.InternedTerm("managedFields")
)

// dropManagedFields removes metadata.managedFields from a Pod's value, as
// withoutManagedFields does for the typed Pod.
func dropManagedFields(pod ast.Object) ast.Object {
	t := pod.Get(keyMetadata)
	if t == nil {
		return pod
	}
	md, ok := t.Value.(ast.Object)
	if !ok || md.Get(keyManagedFields) == nil {
		return pod
	}
	kept := ast.NewObject()
	md.Foreach(func(k, v *ast.Term) {
		if !k.Equal(keyManagedFields) {
			kept.Insert(k, v)
		}
	})
	pod.Insert(keyMetadata, ast.NewTerm(kept))
	return pod
}

// withoutManagedFields is a shallow copy of pod without
// metadata.managedFields: no decision reads them, and they are often the
// bulk of the object.
func withoutManagedFields(pod *corev1.Pod) *corev1.Pod {
	cp := *pod
	cp.ManagedFields = nil
	return &cp
}

// toTerm converts a typed object through its JSON form: what
// ast.InterfaceToValue gives, without decoding the JSON into Go values
// first.
func toTerm(v any) (*ast.Term, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	val, err := jsonValue(data)
	if err != nil {
		return nil, err
	}
	return ast.NewTerm(val), nil
}

// with returns the full input for one policy.
func (d *document) with(params *ast.Term) ast.Value {
	kvs := make([][2]*ast.Term, 0, 6)
	kvs = append(kvs, [2]*ast.Term{keyRequest, d.request}, [2]*ast.Term{keyObject, d.object})
	if d.oldObject != nil {
		kvs = append(kvs, [2]*ast.Term{keyOldObject, d.oldObject})
	}
	if d.namespace != nil {
		kvs = append(kvs, [2]*ast.Term{keyNamespace, d.namespace})
	}
	kvs = append(kvs, [2]*ast.Term{keyImages, d.images}, [2]*ast.Term{keyParameters, params})
	return ast.NewObject(kvs...)
}

func requestTerm(r Request) *ast.Term {
	groups := make([]*ast.Term, len(r.UserInfo.Groups))
	for i, g := range r.UserInfo.Groups {
		groups[i] = ast.StringTerm(g)
	}
	extra := ast.NewObject()
	for k, vs := range r.UserInfo.Extra {
		arr := make([]*ast.Term, len(vs))
		for i, v := range vs {
			arr[i] = ast.StringTerm(v)
		}
		extra.Insert(ast.StringTerm(k), ast.ArrayTerm(arr...))
	}
	user := ast.ObjectTerm(
		ast.Item(ast.StringTerm("username"), ast.StringTerm(r.UserInfo.Username)),
		ast.Item(ast.StringTerm("uid"), ast.StringTerm(r.UserInfo.UID)),
		ast.Item(ast.StringTerm("groups"), ast.ArrayTerm(groups...)),
		ast.Item(ast.StringTerm("extra"), ast.NewTerm(extra)),
	)
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm(r.Operation)),
		ast.Item(ast.StringTerm("subResource"), ast.StringTerm(r.SubResource)),
		ast.Item(ast.StringTerm("namespace"), ast.StringTerm(r.Namespace)),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(r.Name)),
		ast.Item(ast.StringTerm("dryRun"), ast.BooleanTerm(r.DryRun)),
		ast.Item(ast.StringTerm("userInfo"), user),
	)
}
