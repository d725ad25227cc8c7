package quota

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"

	"github.com/tollgate-dev/tollgate/pkg/verdict"
)

// defaultLedgerTTL applies when Options.LedgerTTL is 0.
const defaultLedgerTTL = 30 * time.Second

// Ledger remembers what this replica admitted that quota status does not
// show yet, so a burst of Pods created faster than the quota cache updates
// gets a warning instead of a silent "fits". It never denies on its own:
// it is per replica and best effort, and a Pod another webhook or the
// in-tree plugin later refuses, or a forged review, leaves a charge it
// cannot tell from a real one. The in-tree ResourceQuota stays the enforcer.
//
// A Ledger is safe for concurrent use. Checks in one namespace are
// serialised, so check-and-record is atomic per namespace.
type Ledger struct {
	clock func() time.Time

	mu         sync.Mutex // guards namespaces and lastSweep
	namespaces map[string]*book
	lastSweep  time.Time
}

// book holds one namespace's pending charges by quota name.
type book struct {
	mu      sync.Mutex
	dead    bool // removed from the ledger by a sweep; look it up again
	pending map[string][]entry
}

// entry is one admitted Pod's charge against one quota.
type entry struct {
	pod       string // chargeKey of the admitted Pod, for dedup and Release
	requested corev1.ResourceList
	used      corev1.ResourceList // the quota's status.used when recorded
	at        time.Time
}

// NewLedger makes a ledger; clock is injected so tests control time.
func NewLedger(clock func() time.Time) *Ledger {
	return &Ledger{clock: clock, namespaces: map[string]*book{}}
}

// Check is Check plus the charges admitted recently; on an allowed,
// non-dry-run CREATE it records the Pod's usage. A nil Ledger is plain Check.
//
// Pending charges never deny: a Pod that fits status.used but not
// status.used plus pending gets a quota.pending-charges warning, because the
// ledger cannot tell a Pod the in-tree plugin will count from one that a
// later webhook, the API server or a forged review made up. A Pod already
// charged (same key, see chargeKey) is not charged again and its own charge
// is not counted against it, so a retried review gets the same answer.
//
// A charge is forgotten once the quota's status.used differs from what it
// was when the charge was recorded (the in-tree plugin, which runs right
// after this webhook, has written it), or after Options.LedgerTTL.
func (l *Ledger) Check(in Input) verdict.Verdict {
	if l == nil {
		return Check(in)
	}
	if in.Options.Mode == ModeOff || in.Pod == nil {
		return verdict.Verdict{}
	}
	now := l.clock()
	if in.Now.IsZero() {
		in.Now = now
	}
	ttl := in.Options.LedgerTTL
	if ttl <= 0 {
		ttl = defaultLedgerTTL
	}
	b := l.lock(namespace(in), now, ttl)
	defer b.mu.Unlock()

	byName := map[string]*corev1.ResourceQuota{}
	for i := range in.Quotas {
		byName[in.Quotas[i].Name] = &in.Quotas[i]
	}
	b.prune(now, ttl, byName)
	key := chargeKey(in)
	record := in.Operation == "CREATE" && !in.DryRun && !b.holds(key)
	p := predict(in, func(q *corev1.ResourceQuota) corev1.ResourceList {
		var sum corev1.ResourceList
		for _, e := range b.pending[q.Name] {
			if key == "" || e.pod != key {
				sum = quotav1.Add(sum, e.requested)
			}
		}
		return sum
	}, record)
	if record && len(p.problems) == 0 {
		for _, c := range p.charges {
			b.pending[c.quota] = append(b.pending[c.quota], entry{pod: key, requested: c.requested, used: c.used, at: now})
		}
	}
	return render(p, in.Options.Mode)
}

// Release forgets the charges recorded for the request of in (same
// namespace and chargeKey). Call it when the request is denied after Check
// allowed it, by any step of the same webhook, so a Pod that will never
// exist does not hold quota until the TTL. Requests without a key are not
// released (hand-made inputs only; the API server always sends a uid).
func (l *Ledger) Release(in Input) {
	if l == nil || in.Pod == nil {
		return
	}
	key := chargeKey(in)
	if key == "" {
		return
	}
	l.mu.Lock()
	b := l.namespaces[namespace(in)]
	l.mu.Unlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, entries := range b.pending {
		kept := entries[:0]
		for _, e := range entries {
			if e.pod != key {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(b.pending, name)
		} else {
			b.pending[name] = kept
		}
	}
}

// chargeKey identifies the admitted Pod within its namespace: its UID,
// which the API server sets (with a generated name) before admission
// webhooks run and keeps across retried calls; else the request's UID
// (offline evaluation, hand-made reviews). Names are not used: two
// distinct Pods can share one over time. "" means the charge cannot be
// told apart from others, so it is never deduplicated nor released.
func chargeKey(in Input) string {
	switch {
	case in.Pod.UID != "":
		return "uid:" + string(in.Pod.UID)
	case in.RequestUID != "":
		return "request:" + in.RequestUID
	}
	return ""
}

// holds reports whether key already has a charge in the book; b.mu is held.
func (b *book) holds(key string) bool {
	if key == "" {
		return false
	}
	for _, entries := range b.pending {
		for _, e := range entries {
			if e.pod == key {
				return true
			}
		}
	}
	return false
}

// namespace keys the ledger: the Pod's namespace, else its quotas' (the API
// server always fills the Pod's, but a hand-made input may not).
func namespace(in Input) string {
	if in.Pod.Namespace != "" || len(in.Quotas) == 0 {
		return in.Pod.Namespace
	}
	return in.Quotas[0].Namespace
}

// lock returns the namespace's book, locked. Now and then it also drops
// expired charges of every namespace, so namespaces that stop admitting
// Pods do not keep memory.
func (l *Ledger) lock(namespace string, now time.Time, ttl time.Duration) *book {
	for {
		l.mu.Lock()
		if now.Sub(l.lastSweep) > ttl {
			l.sweep(now, ttl)
		}
		b := l.namespaces[namespace]
		if b == nil {
			b = &book{pending: map[string][]entry{}}
			l.namespaces[namespace] = b
		}
		l.mu.Unlock()
		b.mu.Lock()
		if !b.dead {
			return b
		}
		b.mu.Unlock() // swept between lookup and lock: look up again
	}
}

// sweep drops expired charges everywhere and empty books; l.mu is held.
func (l *Ledger) sweep(now time.Time, ttl time.Duration) {
	l.lastSweep = now
	for ns, b := range l.namespaces {
		b.mu.Lock()
		b.prune(now, ttl, nil)
		if len(b.pending) == 0 {
			b.dead = true
			delete(l.namespaces, ns)
		}
		b.mu.Unlock()
	}
}

// prune drops charges older than ttl and, for the quotas given, charges
// recorded when status.used was different from what it is now.
func (b *book) prune(now time.Time, ttl time.Duration, quotas map[string]*corev1.ResourceQuota) {
	for name, entries := range b.pending {
		q := quotas[name]
		kept := entries[:0]
		for _, e := range entries {
			if now.Sub(e.at) > ttl {
				continue
			}
			if q != nil && !quotav1.Equals(e.used, q.Status.Used) {
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			delete(b.pending, name)
		} else {
			b.pending[name] = kept
		}
	}
}

// Pending returns, per quota name, the usage this ledger holds for the
// namespace and not yet seen in status (for metrics and debugging).
func (l *Ledger) Pending(namespace string) map[string]corev1.ResourceList {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	b := l.namespaces[namespace]
	l.mu.Unlock()
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]corev1.ResourceList{}
	for name, entries := range b.pending {
		for _, e := range entries {
			out[name] = quotav1.Add(out[name], e.requested)
		}
	}
	return out
}
