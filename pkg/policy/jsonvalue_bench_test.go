package policy

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkPodToRego compares the two ways input.object is made from the
// Pod of the peer benchmark's largest review: jsonValue over the sent
// bytes, and OPA's own conversion (decode to Go values, then convert).
func BenchmarkPodToRego(b *testing.B) {
	data, err := os.ReadFile("../../test/bench/testdata/peer/2-acme-multi.json")
	if err != nil {
		b.Fatal(err)
	}
	var review struct {
		Request struct{ Object json.RawMessage }
	}
	if err := json.Unmarshal(data, &review); err != nil {
		b.Fatal(err)
	}
	pod := review.Request.Object
	for name, convert := range map[string]func([]byte) error{
		"jsonValue": func(d []byte) error { _, err := jsonValue(d); return err },
		"opa":       func(d []byte) error { _, err := opaValue(d); return err },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := convert(pod); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
