//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const annotationDefaulted = "tollgate.dev/defaulted"

// A namespace selected by a config profile gets the profile's defaults; the
// stored Pod shows them and says so in its annotation.
func TestDefaultsFromProfile(t *testing.T) {
	ctx := testCtx(t)
	namespace(t, env.api.Client, "e2e-profile", map[string]string{"e2e.tollgate.dev/profile": "small"}, true)
	waitDefaulted(t, "e2e-profile")

	r := kubectl(ctx, "", "run", "web", "-n", "e2e-profile", "--image="+pause)
	if r.Err != nil {
		t.Fatalf("kubectl run: %v", r.Err)
	}
	p, err := env.api.Client.CoreV1().Pods("e2e-profile").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Spec.Containers[0].Resources
	if !sameResources(got.Requests, rl("cpu", "100m", "memory", "64Mi")) || !sameResources(got.Limits, rl("cpu", "200m", "memory", "128Mi")) {
		t.Errorf("stored resources = requests %s limits %s; want the e2e-small profile's requests {cpu=100m memory=64Mi} limits {cpu=200m memory=128Mi}", fmtRL(got.Requests), fmtRL(got.Limits))
	}
	if a := p.Annotations[annotationDefaulted]; a == "" {
		t.Errorf("stored Pod has no %s annotation; annotations: %v", annotationDefaulted, p.Annotations)
	} else {
		t.Logf("%s: %s", annotationDefaulted, a)
	}

	// A namespace without the label gets nothing from the profile.
	namespace(t, env.api.Client, "e2e-noprofile", nil, true)
	if r := kubectl(ctx, "", "run", "web", "-n", "e2e-noprofile", "--image="+pause); r.Err != nil {
		t.Fatalf("kubectl run: %v", r.Err)
	}
	p, err = env.api.Client.CoreV1().Pods("e2e-noprofile").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res := p.Spec.Containers[0].Resources; len(res.Requests)+len(res.Limits) != 0 {
		t.Errorf("Pod in an unselected namespace got resources %s/%s; want none", fmtRL(res.Requests), fmtRL(res.Limits))
	}
	if _, ok := p.Annotations[annotationDefaulted]; ok {
		t.Errorf("Pod in an unselected namespace has %s", annotationDefaulted)
	}
}

// With the in-tree LimitRanger off, Tollgate applies a namespace's
// LimitRange: defaults for what is missing (explicit values kept, init
// containers included) and max enforced with a reason the user can read.
func TestDefaultsFromLimitRange(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-limitrange"
	namespace(t, env.api.Client, ns, nil, true)
	lr := `apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
    - type: Container
      defaultRequest: {cpu: 250m, memory: 128Mi}
      default: {cpu: 500m, memory: 256Mi}
      max: {cpu: "1"}
`
	if r := kubectl(ctx, lr, "apply", "-n", ns, "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	pod := `apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  initContainers:
    - {name: init, image: ` + pause + `}
  containers:
    - name: api
      image: ` + pause + `
      resources:
        requests: {cpu: 300m}
`
	// The LimitRange reaches Tollgate through its informer; wait for it to apply.
	eventually(t, "LimitRange defaults applied on a dry run", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, pod, "apply", "-n", ns, "--dry-run=server", "-o", "jsonpath={.metadata.annotations}", "-f", "-")
		return r.Err == nil && strings.Contains(r.Stdout, annotationDefaulted), r.Output()
	})
	if r := kubectl(ctx, pod, "apply", "-n", ns, "-f", "-"); r.Err != nil {
		t.Fatal(r.Err)
	}
	p, err := env.api.Client.CoreV1().Pods(ns).Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got corev1.ResourceRequirements, req, lim corev1.ResourceList) {
		t.Helper()
		if !sameResources(got.Requests, req) || !sameResources(got.Limits, lim) {
			t.Errorf("%s: stored requests %s limits %s; want requests %s limits %s", what, fmtRL(got.Requests), fmtRL(got.Limits), fmtRL(req), fmtRL(lim))
		}
	}
	check("container api (explicit cpu request kept)", p.Spec.Containers[0].Resources, rl("cpu", "300m", "memory", "128Mi"), rl("cpu", "500m", "memory", "256Mi"))
	check("init container", p.Spec.InitContainers[0].Resources, rl("cpu", "250m", "memory", "128Mi"), rl("cpu", "500m", "memory", "256Mi"))
	t.Logf("%s: %s", annotationDefaulted, p.Annotations[annotationDefaulted])

	big := `apiVersion: v1
kind: Pod
metadata: {name: greedy}
spec:
  containers:
    - name: greedy
      image: ` + pause + `
      resources:
        limits: {cpu: "2"}
`
	r := kubectl(ctx, big, "apply", "-n", ns, "-f", "-")
	if r.Err == nil {
		t.Fatalf("a Pod over the LimitRange max was admitted:\n%s", r.Output())
	}
	if !strings.Contains(r.Stderr, "denied the request") || !strings.Contains(r.Stderr, "cpu") {
		t.Errorf("denial does not come from Tollgate or does not name cpu:\n%s", r.Stderr)
	}
	t.Logf("user sees: %s", strings.TrimSpace(r.Stderr))
}

// Server-side dry run goes through both webhooks: the answer carries the
// defaults, and nothing is stored.
func TestServerSideDryRun(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-dryrun"
	namespace(t, env.api.Client, ns, map[string]string{"e2e.tollgate.dev/profile": "small"}, true)
	waitDefaulted(t, ns)
	r := kubectl(ctx, "", "run", "dry", "-n", ns, "--image="+pause, "--dry-run=server", "-o", "jsonpath={.spec.containers[0].resources.limits.cpu} {.metadata.annotations}")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !strings.HasPrefix(r.Stdout, "200m ") || !strings.Contains(r.Stdout, annotationDefaulted) {
		t.Errorf("dry-run answer = %q; want the profile's cpu limit 200m and the %s annotation", r.Stdout, annotationDefaulted)
	}
	list, err := env.api.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("dry run stored %d Pod(s)", len(list.Items))
	}
	// A denial is reported on a dry run too.
	r = kubectl(ctx, "", "run", "dry", "-n", ns, "--image=quay.io/evil/miner:1", "--dry-run=server")
	if r.Err == nil || !strings.Contains(r.Stderr, "allowed registr") {
		t.Errorf("dry run of a disallowed image: err=%v output:\n%s", r.Err, r.Output())
	}
}

// waitDefaulted waits until Tollgate defaults a bare dry-run Pod in ns: a
// new namespace reaches Tollgate through its informer, a moment after the
// API server has it.
func waitDefaulted(t *testing.T, ns string) {
	t.Helper()
	eventually(t, "Tollgate defaults Pods in "+ns, func(ctx context.Context) (bool, string) {
		p, err := dryRun(ctx, env.api.Client, ns, simplePod("probe", pause))
		if err != nil {
			return false, err.Error()
		}
		_, ok := p.Annotations[annotationDefaulted]
		return ok, fmtRL(p.Spec.Containers[0].Resources.Requests)
	})
}
