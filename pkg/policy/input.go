package policy

import (
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	corev1 "k8s.io/api/core/v1"
)

// The input document every policy sees, built once per request and shared
// by every policy (only input.parameters differs):
//
//	input.request    {operation, subResource, namespace, name, dryRun, userInfo}
//	input.object     the Pod after defaults, in its JSON (API) form
//	input.oldObject  the Pod before the change (UPDATE only), else absent
//	input.namespace  the Namespace object, else absent
//	input.parameters the policy's parameters ({} when none are configured)
//
// input.object is the Pod as the API server sent it (after earlier mutating
// webhooks), without metadata.managedFields; under `tollgate eval`/`test`
// it is the typed Pod's JSON. input.oldObject, never changed, is the stored
// Pod as sent. Input.ObjectJSON and OldObjectJSON carry what was sent.
//
// policies/schemas/input.json describes it.

var (
	keyRequest    = ast.InternedTerm("request")
	keyObject     = ast.InternedTerm("object")
	keyOldObject  = ast.InternedTerm("oldObject")
	keyNamespace  = ast.InternedTerm("namespace")
	keyParameters = ast.InternedTerm("parameters")
)

// document is the per-request part of the input, converted once.
type document struct {
	request, object, oldObject, namespace *ast.Term
}

// newDocument converts in to Rego values: each object's JSON (as sent, or
// marshalled once) is parsed straight into AST terms, without an
// intermediate map[string]any. Objects and arrays found in trees (which may
// be nil) by their exact JSON are reused instead of parsed again.
func newDocument(in Input, trees *subtrees) (*document, error) {
	d := &document{request: requestTerm(in.Request)}
	// One string table for the whole document: a Pod repeats the same keys
	// and many values ("name", "resources", "cpu", "IfNotPresent", ...) in
	// every container, and oldObject repeats object.
	strs := make(map[string]*ast.Term, 128)
	var err error
	if d.object, err = podTerm(in.Object, in.ObjectJSON, strs, trees); err != nil {
		return nil, fmt.Errorf("convert object: %w", err)
	}
	if in.OldObject != nil {
		if d.oldObject, err = podTerm(in.OldObject, in.OldObjectJSON, strs, trees); err != nil {
			return nil, fmt.Errorf("convert oldObject: %w", err)
		}
	}
	if in.Namespace != nil {
		if d.namespace, err = jsonTermWith(in.Namespace, strs, trees); err != nil {
			return nil, fmt.Errorf("convert namespace: %w", err)
		}
	}
	return d, nil
}

// with returns the full input for one policy.
func (d *document) with(params *ast.Term) ast.Value {
	kvs := make([][2]*ast.Term, 0, 5)
	kvs = append(kvs, [2]*ast.Term{keyRequest, d.request}, [2]*ast.Term{keyObject, d.object})
	if d.oldObject != nil {
		kvs = append(kvs, [2]*ast.Term{keyOldObject, d.oldObject})
	}
	if d.namespace != nil {
		kvs = append(kvs, [2]*ast.Term{keyNamespace, d.namespace})
	}
	kvs = append(kvs, [2]*ast.Term{keyParameters, params})
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

// podTerm converts pod from sent, the JSON it was decoded from, when set;
// else, or when sent does not parse (invalid UTF-8, which encoding/json
// replaced silently while decoding), from pod marshalled.
func podTerm(pod *corev1.Pod, sent []byte, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	if len(sent) > 0 {
		if t, err := parseSent(sent, strs, trees); err == nil {
			return t, nil
		}
	}
	return jsonTermWith(pod, strs, trees)
}

// jsonTerm marshals v and parses the JSON into a term.
func jsonTerm(v any) (*ast.Term, error) { return jsonTermWith(v, nil, nil) }

func jsonTermWith(v any, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return parseJSONWith(b, strs, trees)
}
