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
// a deadline per request safely below the webhook timeout. A request with
// no free slot waits for one, within its deadline: a burst of creates from
// one ReplicaSet is served a few at a time instead of answered as a fault,
// and a flooding client is slowed down instead of told at once to send the
// next request. A request that gets no slot before its deadline, or that
// is still running at it, gets the malfunction answer of its webhook
// (Failed), before the API server gives up on it.
type Bound struct {
	Max      int
	Deadline time.Duration
	// Overloaded counts shed and late requests (metrics); may be nil.
	Overloaded func(hook, reason string)

	once  sync.Once
	total chan struct{}
	nsCap int
	mu    sync.Mutex
	perNS map[string]*nsSlots
}

// nsSlots are one namespace's slots; users counts the requests holding or
// waiting for one, so the entry is dropped when idle (namespace names come
// from the request and must not grow the map without bound).
type nsSlots struct {
	sem   chan struct{}
	users int
}

func (b *Bound) init() {
	b.once.Do(func() {
		if b.Max > 0 {
			b.total = make(chan struct{}, b.Max)
		}
		b.nsCap = max(1, b.Max/4)
		b.perNS = map[string]*nsSlots{}
	})
}

func (b *Bound) join(ns string) *nsSlots {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.perNS[ns]
	if s == nil {
		s = &nsSlots{sem: make(chan struct{}, b.nsCap)}
		b.perNS[ns] = s
	}
	s.users++
	return s
}

func (b *Bound) leave(ns string, s *nsSlots) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(b.perNS, ns)
	}
}

// acquire waits for a slot of namespace ns and one of the replica, until
// ctx ends; it returns the release function, or false when none came.
func (b *Bound) acquire(ctx context.Context, ns string) (func(), bool) {
	s := b.join(ns)
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		b.leave(ns, s)
		return nil, false
	}
	select {
	case b.total <- struct{}{}:
	case <-ctx.Done():
		<-s.sem
		b.leave(ns, s)
		return nil, false
	}
	return func() { <-b.total; <-s.sem; b.leave(ns, s) }, true
}

// Wrap bounds next, the handler of webhook hook; mode gives the failure
// mode in force for the Pod validating webhook.
func (b *Bound) Wrap(hook string, rec Recorder, mode FailureModeOf, next admission.Handler) admission.Handler {
	b.init()
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		if b.total == nil && b.Deadline <= 0 {
			return next.Handle(ctx, req)
		}
		if b.Deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, b.Deadline)
			defer cancel()
		}
		release := func() {}
		if b.total != nil {
			var ok bool
			if release, ok = b.acquire(ctx, req.Namespace); !ok {
				b.count(hook, "shed")
				return Failed(context.WithoutCancel(ctx), rec, hook, mode(), fmt.Errorf("%w (%d at once, %d per namespace, none free within the deadline)", ErrShed, b.Max, b.nsCap))
			}
		}
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
				release()
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
