package webhook_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/tollgate-dev/tollgate/pkg/webhook"
)

func req(ns string) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Namespace: ns}}
}

// TestBoundSheds: with every slot of one namespace busy until past the
// deadline, that namespace's next request is shed with the webhook's
// malfunction answer and counted, while another namespace is still served.
func TestBoundSheds(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	slow := admission.HandlerFunc(func(ctx context.Context, r admission.Request) admission.Response {
		started <- struct{}{}
		<-release
		return admission.Allowed("")
	})
	var mu sync.Mutex
	counted := map[string]int{}
	b := &webhook.Bound{Max: 4, Deadline: 50 * time.Millisecond, Overloaded: func(hook, reason string) { mu.Lock(); counted[hook+"/"+reason]++; mu.Unlock() }}
	closed := func() string { return "closed" }
	validate := b.Wrap("validate", nil, closed, slow)
	mutate := b.Wrap("mutate", nil, closed, slow)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); validate.Handle(context.Background(), req("flood")) }()
	<-started // the flood namespace has its one slot (4/4)
	if resp := validate.Handle(context.Background(), req("flood")); resp.Allowed || !strings.Contains(resp.Result.Message, "shed") {
		t.Errorf("validate, closed: %+v, want a denial saying it was shed", resp.Result)
	}
	if resp := mutate.Handle(context.Background(), req("flood")); !resp.Allowed || len(resp.Warnings) != 1 {
		t.Errorf("mutate: allowed=%v warnings %q, want admitted with a warning", resp.Allowed, resp.Warnings)
	}
	wg.Add(1)
	go func() { defer wg.Done(); mutate.Handle(context.Background(), req("small")) }()
	<-started // another namespace still gets a slot
	close(release)
	wg.Wait()
	if counted["validate/shed"] != 1 || counted["mutate/shed"] != 1 {
		t.Errorf("counted %v", counted)
	}
}

// TestBoundDeadline: a request still running at the deadline gets the
// malfunction answer then, counted; failure mode open admits it.
func TestBoundDeadline(t *testing.T) {
	stuck := admission.HandlerFunc(func(ctx context.Context, r admission.Request) admission.Response {
		<-ctx.Done()
		return admission.Denied("too late to matter")
	})
	n := 0
	b := &webhook.Bound{Max: 4, Deadline: 10 * time.Millisecond, Overloaded: func(string, string) { n++ }}
	resp := b.Wrap("validate", nil, func() string { return "open" }, stuck).Handle(context.Background(), req("a"))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "deadline") {
		t.Errorf("open: allowed=%v warnings %q, want admitted with a deadline warning", resp.Allowed, resp.Warnings)
	}
	if n != 1 {
		t.Errorf("counted %d, want 1", n)
	}
}

// TestBoundFastNeverLate: requests that finish at once are never answered
// as late (a select between "done" and a context cancelled by the same
// goroutine once picked either at random).
func TestBoundFastNeverLate(t *testing.T) {
	fast := admission.HandlerFunc(func(ctx context.Context, r admission.Request) admission.Response { return admission.Allowed("") })
	late := 0
	b := &webhook.Bound{Max: 4, Deadline: time.Hour, Overloaded: func(string, string) { late++ }}
	h := b.Wrap("validate", nil, func() string { return "closed" }, fast)
	for range 2000 {
		if resp := h.Handle(context.Background(), req("a")); !resp.Allowed {
			t.Fatalf("fast request answered %+v", resp.Result)
		}
	}
	if late != 0 {
		t.Errorf("%d fast requests counted as overloaded", late)
	}
}

// TestBoundBurstWaits: a burst from one namespace larger than its share
// (a ReplicaSet creating Pods at once) waits for slots and is served, not
// answered as a fault.
func TestBoundBurstWaits(t *testing.T) {
	work := admission.HandlerFunc(func(ctx context.Context, r admission.Request) admission.Response {
		time.Sleep(2 * time.Millisecond)
		return admission.Allowed("")
	})
	overloaded := 0
	var mu sync.Mutex
	b := &webhook.Bound{Max: 4, Deadline: 10 * time.Second, Overloaded: func(string, string) { mu.Lock(); overloaded++; mu.Unlock() }}
	h := b.Wrap("validate", nil, func() string { return "closed" }, work)
	var wg sync.WaitGroup
	denied := make(chan string, 12)
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp := h.Handle(context.Background(), req("burst")); !resp.Allowed {
				denied <- resp.Result.Message
			}
		}()
	}
	wg.Wait()
	close(denied)
	for m := range denied {
		t.Errorf("burst request denied: %s", m)
	}
	if overloaded != 0 {
		t.Errorf("%d burst requests counted as overloaded", overloaded)
	}
}
