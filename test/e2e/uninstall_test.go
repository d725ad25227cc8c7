//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// checkSafeUninstall shows the hazard and the fix. Uninstalled without
// hooks, Helm deletes the Service and the Deployment before the webhook
// configurations (kinds it does not know go last), so for a while the
// failing Pod webhook points at nothing; the recorder must see that. With
// the chart's pre-delete hooks the configurations go first, and the same
// recorder sees no such moment. Pods are created normally afterwards.
func checkSafeUninstall(t *testing.T, ctx context.Context, s *cmScene) {
	t.Helper()
	rec := startOrderRecorder(t, ctx, s.api.Client)
	if r := harness.Helm(ctx, s.api.Kubeconfig, "uninstall", cmRelease, "--namespace", cmNS, "--no-hooks", "--wait"); r.Err != nil {
		t.Fatal(r.Err)
	}
	bad, order := rec.stop(t)
	if bad == "" {
		t.Fatalf("uninstall --no-hooks: the recorder saw no failing webhook without a Service, so it cannot tell the fix works; order:\n%s", order)
	}
	t.Logf("without the chart's hooks (helm uninstall --no-hooks) the cluster was left, for a moment, with: %s\norder of deletions:\n%s", bad, order)

	helmInstallDefault(t, ctx, s)
	waitIssuedAndInjected(t, ctx, s)
	eventually(t, "the reinstalled release admits through the Service again", func(ctx context.Context) (bool, string) {
		got, err := dryRun(ctx, s.api.Client, cmAppNS, simplePod("again", pause))
		if err != nil {
			return false, err.Error()
		}
		return got.Annotations[annotationDefaulted] != "", fmt.Sprintf("annotations %v", got.Annotations)
	})

	rec = startOrderRecorder(t, ctx, s.api.Client)
	r := harness.Helm(ctx, s.api.Kubeconfig, "uninstall", cmRelease, "--namespace", cmNS, "--wait")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	bad, order = rec.stop(t)
	if bad != "" {
		t.Fatalf("helm uninstall left a failing webhook without endpoints: %s\norder:\n%s", bad, order)
	}
	t.Logf("helm uninstall: %s\norder of deletions (never a failing webhook without its Service and Deployment):\n%s", strings.TrimSpace(r.Stdout), order)
	left := s.kubectl(ctx, "get", "validatingwebhookconfigurations,mutatingwebhookconfigurations", "-o", "name")
	if strings.Contains(left.Stdout, "tollgate") {
		t.Fatalf("webhook configurations left after uninstall: %s", left.Stdout)
	}
	p, err := s.api.Client.CoreV1().Pods(cmAppNS).Create(ctx, simplePod("after-uninstall", pause), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("Pod creation after uninstall: %v", err)
	}
	if p.Annotations[annotationDefaulted] != "" {
		t.Fatalf("a Pod created after uninstall was still mutated by Tollgate: %v", p.Annotations)
	}
}

// event is one change the recorder saw, ordered by resourceVersion (etcd's
// revision), so events from different watches replay in the server's order.
type event struct {
	rv      int64
	kind    string
	name    string
	deleted bool
	failing bool // a webhook configuration with a failurePolicy: Fail entry
}

type orderRecorder struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	events []event
}

// startOrderRecorder watches the release's Service and Deployment and the
// cluster's webhook configurations from one consistent point in time.
func startOrderRecorder(t *testing.T, ctx context.Context, c kubernetes.Interface) *orderRecorder {
	t.Helper()
	wctx, cancel := context.WithCancel(ctx)
	r := &orderRecorder{cancel: cancel}
	type source struct {
		kind  string
		list  func(context.Context) (string, []runtime.Object, error)
		watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
	sources := []source{
		{"Service", func(ctx context.Context) (string, []runtime.Object, error) {
			l, err := c.CoreV1().Services(cmNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", nil, err
			}
			return l.ResourceVersion, objs(l.Items), nil
		}, c.CoreV1().Services(cmNS).Watch},
		{"Deployment", func(ctx context.Context) (string, []runtime.Object, error) {
			l, err := c.AppsV1().Deployments(cmNS).List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", nil, err
			}
			return l.ResourceVersion, objs(l.Items), nil
		}, c.AppsV1().Deployments(cmNS).Watch},
		{"ValidatingWebhookConfiguration", func(ctx context.Context) (string, []runtime.Object, error) {
			l, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", nil, err
			}
			return l.ResourceVersion, objs(l.Items), nil
		}, c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Watch},
		{"MutatingWebhookConfiguration", func(ctx context.Context) (string, []runtime.Object, error) {
			l, err := c.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
			if err != nil {
				return "", nil, err
			}
			return l.ResourceVersion, objs(l.Items), nil
		}, c.AdmissionregistrationV1().MutatingWebhookConfigurations().Watch},
	}
	for _, src := range sources {
		rv, items, err := src.list(ctx)
		if err != nil {
			t.Fatalf("list %s: %v", src.kind, err)
		}
		for _, o := range items {
			r.add(o, false, 0) // the starting state
		}
		w, err := src.watch(wctx, metav1.ListOptions{ResourceVersion: rv})
		if err != nil {
			t.Fatalf("watch %s: %v", src.kind, err)
		}
		r.wg.Go(func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted {
					r.add(ev.Object, ev.Type == watch.Deleted, -1)
				}
			}
		})
	}
	return r
}

func objs[T any](items []T) []runtime.Object {
	out := make([]runtime.Object, 0, len(items))
	for i := range items {
		if o, ok := any(&items[i]).(runtime.Object); ok {
			out = append(out, o)
		}
	}
	return out
}

// add records o; rv -1 means "use the object's resourceVersion".
func (r *orderRecorder) add(o runtime.Object, deleted bool, rv int64) {
	m, ok := o.(metav1.Object)
	if !ok {
		return
	}
	if rv < 0 {
		rv, _ = strconv.ParseInt(m.GetResourceVersion(), 10, 64)
	}
	e := event{rv: rv, name: m.GetName(), deleted: deleted}
	switch x := o.(type) {
	case *admissionv1.ValidatingWebhookConfiguration:
		e.kind = "ValidatingWebhookConfiguration"
		for _, w := range x.Webhooks {
			e.failing = e.failing || (w.FailurePolicy != nil && *w.FailurePolicy == admissionv1.Fail)
		}
	case *admissionv1.MutatingWebhookConfiguration:
		e.kind = "MutatingWebhookConfiguration"
		for _, w := range x.Webhooks {
			e.failing = e.failing || (w.FailurePolicy != nil && *w.FailurePolicy == admissionv1.Fail)
		}
	default:
		e.kind = fmt.Sprintf("%T", o)[strings.LastIndex(fmt.Sprintf("%T", o), ".")+1:]
	}
	if e.name != cmRelease {
		return // other objects in the cluster are not ours to judge
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// stop ends the watches and replays the events in server order. It returns
// the first moment a failing webhook configuration existed while the
// Service or the Deployment behind it did not, and the order of deletions.
func (r *orderRecorder) stop(t *testing.T) (violation, order string) {
	t.Helper()
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.SliceStable(r.events, func(i, j int) bool { return r.events[i].rv < r.events[j].rv })
	exists := map[string]bool{}
	failing := map[string]bool{}
	var lines []string
	for _, e := range r.events {
		exists[e.kind] = !e.deleted
		failing[e.kind] = !e.deleted && e.failing
		if e.deleted {
			lines = append(lines, fmt.Sprintf("  rv %d: deleted %s/%s", e.rv, e.kind, e.name))
		} else if e.rv > 0 {
			lines = append(lines, fmt.Sprintf("  rv %d: wrote %s/%s (failurePolicy Fail: %v)", e.rv, e.kind, e.name, e.failing))
		}
		hooked := failing["ValidatingWebhookConfiguration"] || failing["MutatingWebhookConfiguration"]
		if violation == "" && hooked && (!exists["Service"] || !exists["Deployment"]) {
			violation = fmt.Sprintf("at rv %d a webhook configuration with failurePolicy Fail while Service exists=%v, Deployment exists=%v",
				e.rv, exists["Service"], exists["Deployment"])
		}
	}
	return violation, strings.Join(lines, "\n")
}
