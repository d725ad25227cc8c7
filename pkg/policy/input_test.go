package policy

import (
	"encoding/json"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestInputDuplicateKeys: policies see a Pod as the API server stored it.
// A client may send duplicate keys; the API server keeps the last of each
// (encoding/json), and so does the typed Pod policies are given, with more
// keys than any small-object path would take.
func TestInputDuplicateKeys(t *testing.T) {
	e := engineFrom(t, map[string]string{"labels.rego": `package tollgate.labels

warn contains sprintf("a=%v b=%v count=%d", [input.object.metadata.labels.a, input.object.metadata.labels.b, count(input.object.metadata.labels)])
warn contains sprintf("name=%v", [input.object.metadata.name])
`})
	doc := `{"metadata":{"name":"first","labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","a":"2","f":"1","g":"1","h":"1","i":"1","b":"2","j":"1","a":"3"},"name":"web"},
"spec":{"containers":[{"name":"app","image":"nginx:1"}]}}`
	var p corev1.Pod
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	v, err := e.Evaluate(t.Context(), create(&p), Settings{})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(v.WarningMessages()))
	want := []string{"[labels] a=3 b=2 count=10", "[labels] name=web"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}
