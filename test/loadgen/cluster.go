package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tollgate-dev/tollgate/test/bench/workload"
	"github.com/tollgate-dev/tollgate/test/harness"
)

// cluster is a local control plane (etcd + kube-apiserver, no
// controller-manager: quota status is written by this program and then
// kept by the in-tree ResourceQuota plugin) with a fast client.
type cluster struct {
	cp     *harness.ControlPlane
	client kubernetes.Interface
	config *rest.Config
}

func startCluster(ctx context.Context) (*cluster, error) {
	cp, err := harness.Start(ctx, harness.Options{APIServer: harness.APIServerOptions{NoServiceAccount: true}})
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cfg := rest.CopyConfig(cp.APIServer.Config)
	cfg.QPS, cfg.Burst = 10000, 10000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	return &cluster{cp: cp, client: cs, config: cfg}, nil
}

// seed creates a namespace with the workload's 5 LimitRanges and 10
// quotas, status included. roomy quotas start empty and hold thousands of
// workload Pods (for real creates); otherwise status is the workload's, so
// QuotaDenied is denied.
func (c *cluster) seed(ctx context.Context, ns string, roomy bool) error {
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, workload.NamespaceObject(ns), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	for _, lr := range workload.LimitRanges(ns) {
		if _, err := c.client.CoreV1().LimitRanges(ns).Create(ctx, &lr, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create limit range: %w", err)
		}
	}
	for _, q := range workload.Quotas(ns) {
		if roomy {
			for name, v := range q.Spec.Hard {
				v.Mul(100)
				q.Spec.Hard[name] = v
			}
			q.Status.Hard = q.Spec.Hard.DeepCopy()
			for name := range q.Status.Used {
				q.Status.Used[name] = *resourceZero()
			}
		}
		if err := c.createQuota(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (c *cluster) createQuota(ctx context.Context, q corev1.ResourceQuota) error {
	status := q.Status
	created, err := c.client.CoreV1().ResourceQuotas(q.Namespace).Create(ctx, &q, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create quota %s/%s: %w", q.Namespace, q.Name, err)
	}
	created.Status = status
	if _, err := c.client.CoreV1().ResourceQuotas(q.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("quota status %s/%s: %w", q.Namespace, q.Name, err)
	}
	return nil
}

// startTollgate starts bin/tollgate serve against the cluster with the
// workload config, on 127.0.0.1.
func (c *cluster) startTollgate(ctx context.Context) (*harness.Tollgate, error) {
	if _, err := c.client.CoreV1().Namespaces().Create(ctx, workload.NamespaceObject("tollgate-system"), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	cfgPath, err := harness.WriteFile(c.cp.Dir, "tollgate-config.yaml", workload.Config)
	if err != nil {
		return nil, err
	}
	return harness.StartTollgate(ctx, harness.TollgateOptions{Dir: c.cp.Dir, Kubeconfig: c.cp.APIServer.Kubeconfig, ConfigFile: cfgPath})
}

// register points the API server at Tollgate's two webhooks for Pod
// CREATE and UPDATE everywhere but its own namespace (failurePolicy Fail),
// the way the chart does, and waits until both are called.
func (c *cluster) register(ctx context.Context, tg *harness.Tollgate) error {
	fail := admissionregv1.Fail
	none := admissionregv1.SideEffectClassNone
	ifNeeded := admissionregv1.IfNeededReinvocationPolicy
	timeout := int32(10)
	sel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"tollgate-system", "kube-system"},
	}, {Key: ignoreLabel, Operator: metav1.LabelSelectorOpDoesNotExist}}}
	rules := []admissionregv1.RuleWithOperations{{
		Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
		Rule:       admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	murl, vurl := tg.URL+"/mutate-v1-pod", tg.URL+"/validate-v1-pod"
	m := &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "tollgate-bench"},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name: "pods.mutate.tollgate.dev", ClientConfig: admissionregv1.WebhookClientConfig{URL: &murl, CABundle: tg.CA.CertPEM},
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds: &timeout, NamespaceSelector: sel, ReinvocationPolicy: &ifNeeded,
		}},
	}
	v := &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "tollgate-bench"},
		Webhooks: []admissionregv1.ValidatingWebhook{{
			Name: "pods.validate.tollgate.dev", ClientConfig: admissionregv1.WebhookClientConfig{URL: &vurl, CABundle: tg.CA.CertPEM},
			Rules: rules, FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds: &timeout, NamespaceSelector: sel,
		}},
	}
	if _, err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register mutating webhook: %w", err)
	}
	if _, err := c.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("register validating webhook: %w", err)
	}
	return harness.WaitWebhooksCalled(ctx, c.cp.APIServer, tg, "default")
}

// startServe is the `serve` target of `loadgen http`: a control plane with
// the workload namespace and bin/tollgate serve against it.
func startServe(ctx context.Context, _ string, pin bool) (*target, error) {
	c, err := startCluster(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.seed(ctx, workload.Namespace, false); err != nil {
		c.cp.Stop()
		return nil, err
	}
	if pin {
		// The API server and etcd idle during the run; keep them off the
		// server's CPU all the same.
		for _, p := range harness.Running() {
			_ = pinPID(p.PID, "0")
		}
		_ = os.Setenv("GOMAXPROCS", "1") // inherited by tollgate serve
		defer func() { _ = os.Unsetenv("GOMAXPROCS") }()
	}
	tg, err := c.startTollgate(ctx)
	if err != nil {
		c.cp.Stop()
		return nil, err
	}
	if err := waitCached(ctx, tg, 30*time.Second); err != nil {
		tg.Stop()
		c.cp.Stop()
		return nil, err
	}
	if pin {
		if err := pinPID(tg.Process().PID, "1"); err != nil {
			tg.Stop()
			c.cp.Stop()
			return nil, err
		}
	}
	return &target{name: "serve", url: tg.URL, ca: tg.CA.CertPEM, pid: tg.Process().PID, metricsURL: tg.MetricsURL, stop: func() { tg.Stop(); c.cp.Stop() }}, nil
}

// waitCached waits until tollgate reports its cache synced (readyz passed).
func waitCached(ctx context.Context, tg *harness.Tollgate, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return harness.Poll(ctx, 200*time.Millisecond, func(context.Context) (bool, error) {
		b, err := scrape(tg.MetricsURL)
		if err != nil {
			return false, nil
		}
		return strings.Contains(b, "\ntollgate_cache_synced 1"), nil
	})
}

// vmRSS reads VmRSS and VmHWM (MiB) from /proc/PID/status.
func vmRSS(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "status"))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb float64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			_, _ = fmt.Sscanf(strings.TrimPrefix(line, "VmRSS:"), "%f", &kb)
			rss = kb / 1024
		case strings.HasPrefix(line, "VmHWM:"):
			_, _ = fmt.Sscanf(strings.TrimPrefix(line, "VmHWM:"), "%f", &kb)
			hwm = kb / 1024
		}
	}
	return rss, hwm, nil
}
