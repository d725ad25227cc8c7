//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

const cmAppNS = "e2e-certmanager"

// checkAdmissionsThroughService shows the API server calling Tollgate at
// the chart's Service: a Pod gets defaults (mutating webhook) and a Pod over
// the LimitRange's max is denied by validate-pods.tollgate.dev.
func checkAdmissionsThroughService(t *testing.T, ctx context.Context, s *cmScene) {
	t.Helper()
	c := s.api.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cmAppNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "limits"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Max: rl("cpu", "1"),
			Default: rl("cpu", "500m", "memory", "128Mi"), DefaultRequest: rl("cpu", "100m", "memory", "64Mi"),
		}}},
	}
	if _, err := c.CoreV1().LimitRanges(cmAppNS).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a Pod is defaulted by Tollgate through the chart's Service", func(ctx context.Context) (bool, string) {
		got, err := c.CoreV1().Pods(cmAppNS).Create(ctx, simplePod("defaulted", pause), metav1.CreateOptions{})
		if err != nil {
			return false, err.Error()
		}
		res := got.Spec.Containers[0].Resources
		return got.Annotations[annotationDefaulted] != "" && sameResources(res.Requests, rl("cpu", "100m", "memory", "64Mi")),
			fmt.Sprintf("annotations %v, requests %s", got.Annotations, fmtRL(res.Requests))
	})
	big := simplePod("too-big", pause)
	big.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: rl("cpu", "2"), Limits: rl("cpu", "2")}
	_, err := c.CoreV1().Pods(cmAppNS).Create(ctx, big, metav1.CreateOptions{})
	if !denied(err, `admission webhook "validate-pods.tollgate.dev" denied the request`, "cpu") {
		t.Fatalf("a Pod over the LimitRange max: want a denial by validate-pods.tollgate.dev, got %v", err)
	}
	t.Logf("denied through the chart's Service: %v", err)
	t.Logf("pods in %s:\n%s", cmAppNS, s.kubectl(ctx, "get", "pods", "-n", cmAppNS, "-o", "custom-columns=NAME:.metadata.name,DEFAULTED:.metadata.annotations.tollgate\\.dev/defaulted,CPU_REQUEST:.spec.containers[0].resources.requests.cpu").Stdout)
}

// checkRenewal forces a renewal of the serving certificate, as `cmctl renew`
// does, while admissions run without pause, and shows the running Tollgate
// presenting the renewed certificate: same process, not one failed admission.
func checkRenewal(t *testing.T, ctx context.Context, s *cmScene, ca *x509.CertPool) {
	t.Helper()
	before, err := s.servingSerial(ca)
	if err != nil {
		t.Fatal(err)
	}
	pid := s.tg.PID
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := dryRun(ctx, s.api.Client, cmAppNS, simplePod(fmt.Sprintf("during-renewal-%d", i), pause))
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				continue
			}
			ok.Add(1)
		}
	})
	begin := time.Now()
	forceRenewal(t, ctx, s)
	var after string
	eventually(t, "the running Tollgate presents the renewed certificate", func(context.Context) (bool, string) {
		after, err = s.servingSerial(ca)
		return err == nil && after != before, fmt.Sprintf("serial %s (before %s), err %v", after, before, err)
	})
	seen := time.Since(begin)
	// Keep admitting a while on the new certificate, then stop.
	target := ok.Load() + 20
	eventually(t, "admissions continue after the renewal", func(context.Context) (bool, string) {
		return ok.Load() >= target, fmt.Sprintf("%d admitted", ok.Load())
	})
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d admissions failed during the renewal; first: %v", n, n+ok.Load(), firstErr.Load())
	}
	if done, err := s.tg.Exited(); done || s.tg.PID != pid {
		t.Fatalf("tollgate restarted or exited during the renewal (pid %d -> %d, exited %v: %v)", pid, s.tg.PID, done, err)
	}
	t.Logf("renewal: serving cert serial %s -> %s, presented by the same tollgate (pid %d) %s after the renewal was triggered; %d admissions through the Service during it, 0 failed",
		before, after, pid, seen.Round(time.Millisecond), ok.Load())
	t.Logf("certificate after renewal:\n%s", s.kubectl(ctx, "get", "-n", cmNS, "certificate", cmServing, "-o", "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=='Ready')].status,REVISION:.status.revision,NOT_AFTER:.status.notAfter,RENEWAL:.status.renewalTime").Stdout)
}

// forceRenewal sets the Issuing condition on the serving Certificate, which
// is how cert-manager's own tooling asks for a renewal now.
func forceRenewal(t *testing.T, ctx context.Context, s *cmScene) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(s.api.Config)
	if err != nil {
		t.Fatal(err)
	}
	certs := dyn.Resource(schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}).Namespace(cmNS)
	u, err := certs.Get(ctx, cmServing, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	conds = append(conds, map[string]any{
		"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
		"message": "renewal forced by the e2e test", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	})
	if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("trigger renewal: %v", err)
	}
}
