package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestParseSent checks the conversion of JSON as a client sent it against
// encoding/json into any (last duplicate wins, numbers kept as written) with the root's
// metadata.managedFields deleted, then OPA's own conversion.
func TestParseSent(t *testing.T) {
	tests := map[string]string{
		"compact":         `{"kind":"Pod","metadata":{"name":"web","managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}],"labels":{"app":"web-frontend-with-a-long-name"}},"spec":{"containers":[{"name":"app","image":"nginx:1"}]}}`,
		"pretty":          "{\r\n\t\"metadata\" : {\n  \"managedFields\" : [ { \"manager\" : \"x\" } ] ,\n  \"name\" : \"web\"\n } ,\n \"spec\" : { \"containers\" : [ ] }\n}\n",
		"escaped keys":    `{"metad\u0061ta":{"managed\u0046ields":[{"a":1}],"n\u0061me":"w\u00e9b \"q\""},"spec":{"x":"\u2028<&>"}}`,
		"brackets":        `{"metadata":{"managedFields":[{"f":"]}\"{[\\"},"}",[[]]],"name":"web"}}`,
		"scalar fields":   `{"metadata":{"managedFields":null,"name":"web"}}`,
		"duplicate keys":  `{"spec":{"a":1},"metadata":{"name":"a","name":"b","managedFields":[1]},"spec":{"b":2},"metadata":{"managedFields":[2],"uid":"u","uid":"v"}}`,
		"kept elsewhere":  `{"spec":{"managedFields":[1],"metadata":{"managedFields":[2]}},"metadata":{"labels":{"managedFields":"x"},"ownerReferences":[{"managedFields":[3]}]}}`,
		"metadata scalar": `{"metadata":"x","spec":{"managedFields":[1]}}`,
		"array root":      `[{"metadata":{"managedFields":[1],"name":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}]`,
		"numbers":         `{"a":[0,-1,1.5e-7,12345678901234567890,1E3],"b":true,"c":false,"d":null}`,
	}
	trees := newSubtrees()
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			var generic any
			dec := json.NewDecoder(strings.NewReader(doc))
			dec.UseNumber() // as OPA decodes JSON
			if err := dec.Decode(&generic); err != nil {
				t.Fatal(err)
			}
			if m, ok := generic.(map[string]any); ok {
				if meta, ok := m["metadata"].(map[string]any); ok {
					delete(meta, "managedFields")
				}
			}
			want, err := ast.InterfaceToValue(generic)
			if err != nil {
				t.Fatal(err)
			}
			// Without the cache, then twice with it: filled by the same
			// bytes parsed as encoding/json output (managedFields kept),
			// then taken from.
			if _, err := parseJSONWith([]byte(doc), nil, trees); err != nil {
				t.Fatal(err)
			}
			for _, c := range []*subtrees{nil, trees, trees} {
				got, err := parseSent([]byte(doc), nil, c)
				if err != nil {
					t.Fatal(err)
				}
				if got.Value.Compare(want) != 0 {
					t.Errorf("cache %v:\n got %v\nwant %v", c != nil, got, want)
				}
			}
			if typed, _ := parseJSONWith([]byte(doc), nil, trees); name == "compact" && typed.Value.Compare(want) == 0 {
				t.Error("the cache handed parseJSONWith a term without managedFields")
			}
		})
	}
	for _, bad := range []string{`{"metadata":{"managedFields":[1}`, `{"metadata":{"managedFields":`, `{"a":1}x`, "{\"a\":\"\xff\"}"} {
		if _, err := parseSent([]byte(bad), nil, nil); err == nil {
			t.Errorf("parseSent(%q): want error", bad)
		}
	}
}

// TestInputObjectJSON: policies see Input.ObjectJSON when set, with fields
// the typed Pod cannot carry, and the typed Pod when it is not or does not
// parse.
func TestInputObjectJSON(t *testing.T) {
	e := engineFrom(t, map[string]string{"form.rego": `package tollgate.form

warn contains sprintf("object.spec.extra=%v", [x]) if x := input.object.spec.extra
warn contains sprintf("oldObject.spec.extra=%v", [x]) if x := input.oldObject.spec.extra
warn contains "object.metadata.managedFields" if input.object.metadata.managedFields
warn contains sprintf("name=%v", [input.object.metadata.name])
`})
	p := pod(container("app", "nginx:1"))
	sent := []byte(`{"metadata":{"name":"web","namespace":"team-a","managedFields":[{"manager":"m"}]},"spec":{"extra":"yes","containers":[{"name":"app","image":"nginx:1"}]}}`)
	tests := map[string]struct {
		objectJSON, oldJSON []byte
		want                []string
	}{
		"typed":               {want: []string{"[form] name=web"}},
		"sent":                {objectJSON: sent, want: []string{"[form] name=web", "[form] object.spec.extra=yes"}},
		"sent old":            {oldJSON: sent, want: []string{"[form] name=web", "[form] oldObject.spec.extra=yes"}},
		"invalid UTF-8 typed": {objectJSON: []byte("{\"metadata\":{\"name\":\"w\xffb\"},\"spec\":{\"extra\":1}}"), want: []string{"[form] name=web"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := create(p)
			in.OldObject = p.DeepCopy()
			in.ObjectJSON, in.OldObjectJSON = tc.objectJSON, tc.oldJSON
			v, err := e.Evaluate(t.Context(), in, Settings{})
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(slices.Values(v.Warnings))
			if !slices.Equal(got, tc.want) {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}

// TestParseSentManyDuplicates: an object with more keys than the small-object
// path takes (labels a tenant wrote) keeps the last of each duplicate, in
// first-seen order of the survivors, as encoding/json and the API server do.
func TestParseSentManyDuplicates(t *testing.T) {
	doc := `{"metadata":{"labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","a":"2","f":"1","g":"1","h":"1","i":"1","b":"2","j":"1","a":"3"}}}`
	got, err := parseSent([]byte(doc), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := ast.MustParseTerm(`{"metadata":{"labels":{"a":"3","b":"2","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1"}}}`)
	if got.Value.Compare(want.Value) != 0 {
		t.Errorf("got %v\nwant %v", got, want)
	}
	labels, _ := got.Value.(ast.Object).Get(ast.StringTerm("metadata")).Value.(ast.Object).Get(ast.StringTerm("labels")).Value.(ast.Object)
	if labels.Len() != 10 {
		t.Errorf("labels object has %d keys, want 10 (duplicates dropped)", labels.Len())
	}
}
