package imageref

import "testing"

// FuzzParse: Parse never panics, and a parsed reference's normalised form
// parses back to the same reference.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"nginx", "localhost:5000/a", "a:b@sha256:" + hex64, "GHCR.io/Acme/App", "ghcr.io/acme/app:1", "x@sha256:" + hex64[:63], ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.Normalized)
		if err != nil {
			t.Fatalf("Parse(%q).Normalized = %q does not parse: %v", s, r.Normalized, err)
		}
		again.Original, r.Original = "", ""
		if r.TagImplicit {
			again.TagImplicit = true // the normalised form writes the implicit tag
		}
		if again != r {
			t.Fatalf("Parse(%q) = %+v, but its normalised form parses to %+v", s, r, again)
		}
	})
}

// FuzzMatches: matching never panics, and a pattern made from a reference's
// own path always matches it.
func FuzzMatches(f *testing.F) {
	f.Add("ghcr.io/acme/app:1", "ghcr.io/acme/*")
	f.Add("nginx", "docker.io/library")
	f.Add("myregistry.io.attacker.com/x", "myregistry.io")
	f.Fuzz(func(t *testing.T, ref, pattern string) {
		_, _ = Matches(ref, pattern)
		r, err := Parse(ref)
		if err != nil {
			return
		}
		ok, err := Matches(ref, r.Path)
		if err != nil || !ok {
			t.Fatalf("Matches(%q, own path %q) = %v, %v; want true", ref, r.Path, ok, err)
		}
	})
}
