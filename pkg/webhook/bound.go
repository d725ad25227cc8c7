package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// Bound caps the work of one replica: at most Max requests evaluated at
// once, of which at most a quarter from one namespace (so one tenant's
// flood of large dry-run Pods cannot take every slot from the others), and
// a deadline per request safely below the webhook timeout. A request over
// either limit gets the malfunction answer of its webhook (Failed) at once,
// instead of queueing until the API server gives up on it.
type Bound struct {
	Max      int
	Deadline time.Duration
	// Overloaded counts shed and late requests (metrics); may be nil.
	Overloaded func(hook, reason string)

	once   sync.Once
	mu     sync.Mutex
	total  int
	perNS  map[string]int
	nsCap  int
	active bool
}

func (b *Bound) init() {
	b.once.Do(func() {
		b.perNS = map[string]int{}
		b.nsCap = max(1, b.Max/4)
		b.active = b.Max > 0
	})
}

// acquire takes a slot for namespace ns, or reports that none is free.
func (b *Bound) acquire(ns string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.total >= b.Max || b.perNS[ns] >= b.nsCap {
		return false
	}
	b.total++
	b.perNS[ns]++
	return true
}

func (b *Bound) release(ns string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total--
	if b.perNS[ns]--; b.perNS[ns] <= 0 {
		delete(b.perNS, ns)
	}
}

// Wrap bounds next, the handler of webhook hook; mode gives the failure
// mode in force for the Pod validating webhook.
func (b *Bound) Wrap(hook string, rec Recorder, mode FailureModeOf, next admission.Handler) admission.Handler {
	b.init()
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		if !b.active {
			return next.Handle(ctx, req)
		}
		if !b.acquire(req.Namespace) {
			b.count(hook, "shed")
			return Failed(ctx, rec, hook, mode(), fmt.Errorf("%w (%d at once, %d per namespace)", ErrShed, b.Max, b.nsCap))
		}
		if b.Deadline <= 0 {
			defer b.release(req.Namespace)
			return next.Handle(ctx, req)
		}
		ctx, cancel := context.WithTimeout(ctx, b.Deadline)
		defer cancel()
		done := make(chan admission.Response, 1)
		go func() {
			// The slot is held until the work really stops, so late work
			// still counts against the bound; it is free before the answer
			// is, so a client's next request never finds its own slot taken.
			var resp admission.Response
			defer func() {
				if r := recover(); r != nil {
					resp = Failed(ctx, rec, hook, mode(), fmt.Errorf("panic in admission: %v", r))
				}
				b.release(req.Namespace)
				done <- resp
			}()
			resp = next.Handle(ctx, req)
		}()
		select {
		case resp := <-done:
			return resp
		case <-ctx.Done():
			// Only the deadline (or the caller going away) cancels ctx: an
			// answer the work gives after that is not waited for.
			b.count(hook, "deadline")
			return Failed(context.WithoutCancel(ctx), rec, hook, mode(), fmt.Errorf("%w of %s", ErrDeadline, b.Deadline))
		}
	})
}

func (b *Bound) count(hook, reason string) {
	if b.Overloaded != nil {
		b.Overloaded(hook, reason)
	}
}
