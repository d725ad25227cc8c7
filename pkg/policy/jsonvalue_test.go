package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	"sigs.k8s.io/yaml"
)

// opaValue is OPA's own conversion of a JSON document, the reference
// jsonValue must agree with.
func opaValue(data []byte) (ast.Value, error) {
	var x any
	if err := util.UnmarshalJSON(data, &x); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(x)
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-1.5e+10`, `12345678901234567890123`, `"x"`,
	` { "a" : [ 1 , 2.0 , "three" , null , true , false , { } , [ ] ] } `,
	`{"a":1,"a":2}`,                        // the last duplicate wins
	`{"s":"\u00e9\ud83d\ude00\n\t\"\\\/"}`, // escapes and a surrogate pair
	"{\"bad\":\"\xff\xfe\"}",               // invalid UTF-8 becomes U+FFFD
	`{"lone":"\ud800"}`,                    // a lone surrogate too
	`{"metadata":{"name":"p","managedFields":[{"manager":"kubectl"}]},"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`,
}

func TestJSONValueAgreesWithOPA(t *testing.T) {
	for _, s := range jsonSeeds {
		got, err := jsonValue([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		want, err := opaValue([]byte(s))
		if err != nil {
			t.Fatalf("%s: OPA: %v", s, err)
		}
		if ast.Compare(got, want) != 0 {
			t.Errorf("%s:\n got %v\nwant %v", s, got, want)
		}
	}
}

func TestJSONValueRefusesInvalid(t *testing.T) {
	for _, s := range []string{``, `{`, `{"a":}`, `[1,]`, `{"a":1} x`, `"\x"`, `tru`, `01`} {
		if v, err := jsonValue([]byte(s)); err == nil {
			t.Errorf("%q: accepted as %v", s, v)
		}
	}
}

// TestJSONValueOnFixtures converts every request under test/fixtures.
func TestJSONValueOnFixtures(t *testing.T) {
	files, _ := filepath.Glob("../../test/fixtures/*/*/request.yaml")
	if len(files) == 0 {
		t.Fatal("no fixtures found")
	}
	for _, f := range files {
		y, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := yaml.YAMLToJSON(y)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		want, werr := opaValue(data)
		got, gerr := jsonValue(data)
		if (werr == nil) != (gerr == nil) || (werr == nil && ast.Compare(got, want) != 0) {
			t.Errorf("%s: jsonValue and OPA differ (errors %v / %v)", f, gerr, werr)
		}
	}
}

// FuzzJSONValue: on any bytes, jsonValue refuses what is not one JSON
// document (OPA's decoder tolerates some trailing bytes; the API server's
// objects never have any) and agrees with OPA's conversion on the rest.
func FuzzJSONValue(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := jsonValue(data)
		if !json.Valid(data) {
			if gerr == nil {
				t.Fatalf("%q: not JSON, accepted as %v", data, got)
			}
			return
		}
		want, werr := opaValue(bytes.Clone(data))
		if (gerr == nil) != (werr == nil) { // both refuse numbers OPA cannot evaluate with
			t.Fatalf("%q: jsonValue error %v, OPA error %v", data, gerr, werr)
		}
		if gerr == nil && ast.Compare(got, want) != 0 {
			t.Fatalf("%q:\n got %v\nwant %v", data, got, want)
		}
	})
}
