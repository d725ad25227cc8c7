package sigverify

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDedupeKeepsEveryArtifact: artifacts from the three places arrive in
// any order (they are fetched concurrently); each distinct one is kept,
// ordered tag, referrers, fallback tag.
func TestDedupeKeepsEveryArtifact(t *testing.T) {
	in := []artifact{
		{source: SourceFallbackTag, manifest: "sha256:a"},
		{source: SourceReferrers, manifest: "sha256:c"},
		{source: SourceTag, manifest: "sha256:b"},
		{source: SourceFallbackTag, manifest: "sha256:c"}, // listed both ways
	}
	var got []string
	for _, a := range dedupe(in) {
		got = append(got, a.source+" "+a.manifest)
	}
	want := []string{"tag sha256:b", "referrers sha256:c", "fallback-tag sha256:a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dedupe (-want +got):\n%s", diff)
	}
}
