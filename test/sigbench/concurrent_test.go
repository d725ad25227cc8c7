package sigbench

import (
	"sync"
	"testing"
)

// TestConcurrentAdmissionsShareOneVerification: 100 concurrent admissions
// of a Pod naming one new digest make one verification, and exactly the
// registry requests of one; a second new digest admitted alone costs the
// same, so that is the per-digest figure (docs/performance.md).
func TestConcurrentAdmissionsShareOneVerification(t *testing.T) {
	l := newLoop(t, false)
	var imgs []string
	for _, tag := range []string{"a", "b", "c"} {
		imgs = append(imgs, l.host()+"/app:"+tag+"@"+l.pushSigned(t, "app", tag))
	}
	s := newScene(t, verifyingConfig(t, l))
	s.validate(t, imgs[2:]) // warms the connections and the repository's auth
	before := l.requests.Load()
	s.validate(t, imgs[1:2])
	single := l.requests.Load() - before
	base := s.obs.count()
	before = l.requests.Load()
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { s.validate(t, imgs[:1]) })
	}
	wg.Wait()
	burst := l.requests.Load() - before
	if n := s.obs.count() - base; n != 1 {
		t.Errorf("100 concurrent admissions of one new digest made %d verifications, want 1", n)
	}
	if burst != single {
		t.Errorf("100 concurrent admissions made %d registry requests; one admission of a new digest makes %d", burst, single)
	}
	t.Logf("registry requests: %d for one new digest alone, %d for 100 concurrent admissions of another", single, burst)
}
