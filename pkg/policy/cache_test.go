package policy

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tollgate-dev/tollgate/pkg/imageref"
)

func TestBoundedCacheStaysBounded(t *testing.T) {
	c := newBoundedCache[int](10)
	for i := range 1000 {
		c.put(fmt.Sprint(i), i)
		if n := c.len(); n > 20 {
			t.Fatalf("after %d puts the cache holds %d entries, want at most 20", i+1, n)
		}
	}
	if v, ok := c.get("999"); !ok || v != 999 {
		t.Errorf("get(999) = %v, %v; want the latest entry", v, ok)
	}
	if _, ok := c.get("0"); ok {
		t.Error("get(0) found an entry that should have been dropped")
	}
}

func TestBoundedCacheKeepsEntriesInUse(t *testing.T) {
	c := newBoundedCache[int](4)
	c.put("hot", 1)
	for i := range 100 {
		c.put(fmt.Sprint(i), i)
		if _, ok := c.get("hot"); !ok {
			t.Fatalf("entry in steady use dropped after %d other puts", i+1)
		}
	}
}

func TestImageParseCachedEqualsFresh(t *testing.T) {
	c := newImages()
	for _, s := range []string{"nginx", "ghcr.io/acme/app:1@sha256:" + hex64, "NGINX", "", " nginx"} {
		ref, err := imageref.Parse(s)
		fresh := parseTerm(s, ref, err)
		for range 2 { // miss, then hit
			if got := c.parse(s).term; !got.Equal(fresh) {
				t.Errorf("parse(%q) = %v, want %v", s, got, fresh)
			}
		}
	}
}

func TestImagesBounded(t *testing.T) {
	c := newImages()
	for i := range 3 * maxCachedImages {
		c.parse(fmt.Sprintf("registry.example/app-%d:1", i))
	}
	if n := c.refs.len(); n > 2*maxCachedImages {
		t.Errorf("cache holds %d parsed references, want at most %d", n, 2*maxCachedImages)
	}
}

// The engine's caches are shared by concurrent requests (run with -race).
func TestEvaluateConcurrentSharedCaches(t *testing.T) {
	e := shipped(t)
	s := Settings{Rules: map[string]Rule{
		"allowed-registries": func() Rule { r := registries("ghcr.io/acme/*"); r.ExemptImages = []string{"evil.io/exempt"}; return r }(),
		"require-digest":     {Action: "warn"},
	}}
	images := []string{"ghcr.io/acme/app:1", "evil.io/x:1", "nginx", "NGINX", "evil.io/exempt:2"}
	want := make([]int, len(images))
	for i, img := range images {
		v, err := e.Evaluate(t.Context(), create(pod(container("app", img))), s)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = len(v.Reasons)*100 + len(v.Warnings)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 30 {
				i := (g + j) % len(images)
				v, err := e.Evaluate(t.Context(), create(pod(container("app", images[i]))), s)
				if err != nil {
					t.Error(err)
					return
				}
				if got := len(v.Reasons)*100 + len(v.Warnings); got != want[i] {
					t.Errorf("image %s: %d reasons, %d warnings; sequential run gave %d", images[i], len(v.Reasons), len(v.Warnings), want[i])
				}
			}
		}()
	}
	wg.Wait()
}
