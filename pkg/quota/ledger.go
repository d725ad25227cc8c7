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
// is not all predicted to fit. It is per replica and best effort; the
// in-tree ResourceQuota plugin stays the exact enforcer.
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
	pod       string // podKey of the admitted Pod, for Release
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
	record := in.Operation == "CREATE" && !in.DryRun
	p := predict(in, func(q *corev1.ResourceQuota) corev1.ResourceList {
		var sum corev1.ResourceList
		for _, e := range b.pending[q.Name] {
			sum = quotav1.Add(sum, e.requested)
		}
		return sum
	}, record)
	if record && len(p.problems) == 0 {
		for _, c := range p.charges {
			b.pending[c.quota] = append(b.pending[c.quota], entry{pod: podKey(in.Pod), requested: c.requested, used: c.used, at: now})
		}
	}
	return render(p, in.Options.Mode)
}

// Release forgets the charges recorded for the Pod of in (same namespace,
// same UID, or same name when the Pod has no UID). Call it when the request
// is denied after Check allowed it, e.g. by a policy in the same webhook,
// so a Pod that will never exist does not hold quota until the TTL.
func (l *Ledger) Release(in Input) {
	if l == nil || in.Pod == nil {
		return
	}
	key := podKey(in.Pod)
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

// podKey identifies a Pod within its namespace: the API server sets the
// UID (and a generated name) before admission webhooks run.
func podKey(pod *corev1.Pod) string {
	if pod.UID != "" {
		return "uid:" + string(pod.UID)
	}
	return "name:" + pod.Name
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
