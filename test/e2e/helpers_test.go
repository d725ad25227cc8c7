//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tollgate-dev/tollgate/test/harness"
)

const pause = "registry.k8s.io/pause:3.10"

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// kubectl runs kubectl against the shared cluster.
func kubectl(ctx context.Context, stdin string, args ...string) harness.Result {
	return harness.Kubectl(ctx, env.api.Kubeconfig, stdin, args...)
}

// namespace creates a namespace with labels (and its default
// ServiceAccount, which kube-controller-manager makes) and deletes it after
// the test.
func namespace(t *testing.T, c kubernetes.Interface, name string, labels map[string]string, waitSA bool) {
	t.Helper()
	ctx := testCtx(t)
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	if waitSA {
		waitServiceAccount(t, c, name)
	}
}

// applyQuota creates a ResourceQuota with spec.hard (YAML flow map) in ns
// and waits for kube-controller-manager to fill its status: only then does
// it count, for the in-tree plugin and for Tollgate.
func applyQuota(t *testing.T, ns, name, hard string) {
	t.Helper()
	ctx := testCtx(t)
	quota := "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: " + name + "}\nspec:\n  hard: " + hard + "\n"
	if r := kubectl(ctx, quota, "apply", "-n", ns, "-f", "-"); r.Err != nil {
		t.Fatalf("apply quota %s: %v\n%s", name, r.Err, r.Output())
	}
	eventually(t, "quota "+name+" status filled", func(ctx context.Context) (bool, string) {
		rq, err := env.api.Client.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && len(rq.Status.Hard) > 0, errString(err)
	})
}

// waitServiceAccount waits for the default ServiceAccount, without which
// the ServiceAccount admission plugin refuses Pods.
func waitServiceAccount(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 60*time.Second)
	defer cancel()
	err := harness.Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("default ServiceAccount in %s never appeared: %v", ns, err)
	}
}

// eventually polls cond until it holds; cond reports what it last saw.
func eventually(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 60*time.Second)
	defer cancel()
	var last string
	err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var ok bool
		ok, last = cond(ctx)
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: never happened (%v); last seen: %s", what, err, last)
	}
}

func simplePod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: image}}},
	}
}

// dryRun creates p with server-side dry run and returns what the server
// would store, and the warnings it sent.
func dryRun(ctx context.Context, c kubernetes.Interface, ns string, p *corev1.Pod) (*corev1.Pod, error) {
	return c.CoreV1().Pods(ns).Create(ctx, p.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

// denied says whether err is an admission denial whose message contains all of want.
func denied(err error, want ...string) bool {
	if err == nil || !(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) {
		return false
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			return false
		}
	}
	return true
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = q(kv[i+1])
	}
	return out
}

// sameResources compares two ResourceLists by value (1 == 1000m).
func sameResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || va.Cmp(vb) != 0 {
			return false
		}
	}
	return true
}

func fmtRL(r corev1.ResourceList) string {
	var parts []string
	for _, k := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if v, ok := r[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", k, v.String()))
		}
	}
	for k, v := range r {
		if k != corev1.ResourceCPU && k != corev1.ResourceMemory && k != corev1.ResourceEphemeralStorage {
			parts = append(parts, fmt.Sprintf("%s=%s", k, v.String()))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}
