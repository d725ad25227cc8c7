package provenance

import (
	"strings"
	"testing"
)

// TestFailedIsOneLine: the API server drops admission warnings holding
// control characters, so a registry body's newline must not reach one.
func TestFailedIsOneLine(t *testing.T) {
	img := Failed("", "registry throttled: GET /v2/: 429 Too Many Requests\n\tretry later\n", true)
	if want := "registry throttled: GET /v2/: 429 Too Many Requests retry later"; img.Error != want {
		t.Errorf("Error %q, want %q", img.Error, want)
	}
	if long := Failed("", strings.Repeat("é", 800), false).Error; len(long) > 1003 || !strings.HasSuffix(long, "...") {
		t.Errorf("a long message is %d bytes, want it cut at 1000 with ...", len(long))
	}
	if img.Signatures == nil || img.SignedBy == nil || img.Attestations == nil {
		t.Error("a failed result must carry empty lists, not null, for the policies")
	}
}
