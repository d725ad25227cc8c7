//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/test/harness"
)

const (
	diffLimitRanges = 60
	diffPodsPerLR   = 4 // 240 LimitRange x Pod cases
	diffSeed        = 20261122
)

// result is what one server did with one Pod.
type result struct {
	allowed bool
	code    int32
	message string
	pod     *corev1.Pod
}

// TestDifferentialLimitRanger sends the same generated LimitRanges and Pods
// to two API servers: "reference" with the in-tree LimitRanger and no
// webhook, and the suite's server with LimitRanger off and Tollgate's
// webhooks. Admission outcome and stored resources must agree.
// Then every admitted Pod gets the same random in-place resize on both.
// Replay a run with E2E_DIFF_SEED=<seed>; E2E_DIFF_PODLEVEL sets the share
// of Pods with pod-level resources (default 0.15).
func TestDifferentialLimitRanger(t *testing.T) {
	ctx := testCtx(t)
	seed := uint64(diffSeed)
	if s := os.Getenv("E2E_DIFF_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("E2E_DIFF_SEED: %v", err)
		}
		seed = v
	}
	ref, err := env.cp.AddAPIServer(ctx, harness.APIServerOptions{Name: "reference", LimitRanger: true, NoServiceAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Process().Stop(15 * time.Second) })

	g := newGen(seed)
	g.podLevel = 0.15
	if v := os.Getenv("E2E_DIFF_PODLEVEL"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("E2E_DIFF_PODLEVEL: %v", err)
		}
		g.podLevel = f
	}
	type kase struct {
		ns   string
		lr   *corev1.LimitRange
		pods []*corev1.Pod
	}
	cases := make([]kase, diffLimitRanges)
	for i := range cases {
		cases[i] = kase{ns: fmt.Sprintf("diff-%03d", i), lr: g.limitRange("generated")}
		for j := range diffPodsPerLR {
			cases[i].pods = append(cases[i].pods, g.pod(fmt.Sprintf("p%d", j)))
		}
	}
	begin := time.Now()
	for _, s := range []kubernetes.Interface{ref.Client, env.api.Client} {
		for _, c := range cases {
			if _, err := s.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatalf("namespace %s: %v", c.ns, err)
			}
			if _, err := s.CoreV1().LimitRanges(c.ns).Create(ctx, c.lr.DeepCopy(), metav1.CreateOptions{}); err != nil {
				t.Fatalf("LimitRange in %s is invalid (generator bug): %v\n%s", c.ns, err, toYAML(c.lr))
			}
		}
	}
	waitTollgateSawLimitRanges(t, ctx)
	for _, c := range cases {
		waitServiceAccount(t, env.api.Client, c.ns)
	}

	var diffs, n, defaulted int
	outcomes := map[string]int{} // what the in-tree server did, by kind
	for _, c := range cases {
		for _, p := range c.pods {
			n++
			want := create(ctx, ref.Client, c.ns, p)
			got := create(ctx, env.api.Client, c.ns, p)
			outcomes[kind(want)]++
			if got.allowed {
				// Guard against a vacuous pass: defaults on this side must come
				// from Tollgate, never from an in-tree LimitRanger.
				if _, ok := got.pod.Annotations["kubernetes.io/limit-ranger"]; ok {
					t.Fatalf("case %s/%s: the webhook server ran the in-tree LimitRanger", c.ns, p.Name)
				}
				if _, ok := got.pod.Annotations[annotationDefaulted]; ok {
					defaulted++
				}
			}
			if d := compare(want, got); d != "" {
				diffs++
				if diffs <= 15 {
					t.Errorf("case %s/%s: %s\nLimitRange:\n%sPod:\n%sin-tree: %s\ntollgate: %s",
						c.ns, p.Name, d, toYAML(c.lr), toYAML(p), describe(want), describe(got))
				}
			}
		}
	}
	t.Logf("seed %d: %d cases, in-tree outcomes %v, %d admitted Pods defaulted by Tollgate, %d differences, in %s",
		seed, n, outcomes, defaulted, diffs, time.Since(begin).Round(time.Millisecond))

	// In-place resize (pods/resize) of every Pod both servers admitted:
	// LimitRanger defaults and checks it again, and so must Tollgate.
	resizes := map[string]int{}
	for _, c := range cases {
		for _, p := range c.pods {
			if _, err := ref.Client.CoreV1().Pods(c.ns).Get(ctx, p.Name, metav1.GetOptions{}); err != nil {
				continue // not admitted
			}
			patch := g.resize(p)
			want := resize(ctx, ref.Client, c.ns, p.Name, patch)
			got := resize(ctx, env.api.Client, c.ns, p.Name, patch)
			resizes[kind(want)]++
			if d := compare(want, got); d != "" {
				diffs++
				if diffs <= 15 {
					t.Errorf("resize %s/%s with %s: %s\nLimitRange:\n%sin-tree: %s\ntollgate: %s",
						c.ns, p.Name, patch, d, toYAML(c.lr), describe(want), describe(got))
				}
			}
		}
	}
	t.Logf("resizes: in-tree outcomes %v; %d differences in total", resizes, diffs)
	if defaulted == 0 {
		t.Error("Tollgate defaulted no Pod at all; the comparison proves nothing")
	}
	if diffs > 15 {
		t.Errorf("%d more differences not shown", diffs-15)
	}
}

// waitTollgateSawLimitRanges creates one more LimitRange after all the
// generated ones and waits until Tollgate applies it: its informer delivers
// LimitRanges in order, so all earlier ones are then known too.
func waitTollgateSawLimitRanges(t *testing.T, ctx context.Context) {
	t.Helper()
	ns := "diff-sentinel"
	c := env.api.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "sentinel"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, DefaultRequest: rl("cpu", "7m"),
	}}}}
	if _, err := c.CoreV1().LimitRanges(ns).Create(ctx, lr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitServiceAccount(t, c, ns)
	eventually(t, "Tollgate applies the sentinel LimitRange", func(ctx context.Context) (bool, string) {
		p, err := dryRun(ctx, c, ns, simplePod("probe", pause))
		if err != nil {
			return false, err.Error()
		}
		got := p.Spec.Containers[0].Resources.Requests
		return sameResources(got, rl("cpu", "7m")), fmtRL(got)
	})
}

func resize(ctx context.Context, c kubernetes.Interface, ns, name string, patch []byte) result {
	stored, err := c.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize")
	return outcomeOf(stored, err)
}

func create(ctx context.Context, c kubernetes.Interface, ns string, p *corev1.Pod) result {
	stored, err := c.CoreV1().Pods(ns).Create(ctx, p.DeepCopy(), metav1.CreateOptions{})
	return outcomeOf(stored, err)
}

func outcomeOf(stored *corev1.Pod, err error) result {
	if err != nil {
		var code int32
		if s, ok := err.(apierrors.APIStatus); ok {
			code = s.Status().Code
		}
		return result{code: code, message: err.Error()}
	}
	return result{allowed: true, code: 201, pod: stored}
}

// compare returns "" when both servers did the same, else what differs.
func compare(want, got result) string {
	if want.allowed != got.allowed {
		return fmt.Sprintf("in-tree allowed=%v, tollgate allowed=%v", want.allowed, got.allowed)
	}
	if !want.allowed {
		if want.code != got.code {
			return fmt.Sprintf("both denied, but with HTTP %d (in-tree) vs %d (tollgate)", want.code, got.code)
		}
		return ""
	}
	var out []string
	cmpList := func(kind string, a, b []corev1.Container) {
		for i := range a {
			ra, rb := a[i].Resources, b[i].Resources
			if !sameResources(ra.Requests, rb.Requests) || !sameResources(ra.Limits, rb.Limits) {
				out = append(out, fmt.Sprintf("%s %s: in-tree requests %s limits %s, tollgate requests %s limits %s",
					kind, a[i].Name, fmtRL(ra.Requests), fmtRL(ra.Limits), fmtRL(rb.Requests), fmtRL(rb.Limits)))
			}
		}
	}
	cmpList("init container", want.pod.Spec.InitContainers, got.pod.Spec.InitContainers)
	cmpList("container", want.pod.Spec.Containers, got.pod.Spec.Containers)
	if a, b := want.pod.Spec.Resources, got.pod.Spec.Resources; (a == nil) != (b == nil) ||
		a != nil && (!sameResources(a.Requests, b.Requests) || !sameResources(a.Limits, b.Limits)) {
		out = append(out, fmt.Sprintf("pod-level resources: in-tree %v, tollgate %v", a, b))
	}
	return strings.Join(out, "; ")
}

// kind classifies an outcome for the summary line.
func kind(r result) string {
	switch {
	case r.allowed:
		return "admitted"
	case r.code == 422:
		return "invalid(422)"
	case r.code == 403:
		return "forbidden(403)"
	}
	return fmt.Sprintf("http-%d", r.code)
}

func describe(r result) string {
	if !r.allowed {
		return fmt.Sprintf("denied (HTTP %d): %s", r.code, r.message)
	}
	var parts []string
	for _, c := range append(append([]corev1.Container{}, r.pod.Spec.InitContainers...), r.pod.Spec.Containers...) {
		parts = append(parts, fmt.Sprintf("%s req %s lim %s", c.Name, fmtRL(c.Resources.Requests), fmtRL(c.Resources.Limits)))
	}
	return "admitted: " + strings.Join(parts, ", ")
}

func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
