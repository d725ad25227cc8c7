package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/test/harness"
)

// waitDefaults waits until Tollgate defaults a bare dry-run Pod in every
// namespace that should get defaults (a LimitRange with container defaults,
// or a profile of the config selecting it), so the examples never race
// Tollgate's informers.
func (d *demo) waitDefaults(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cfg, err := config.Load(d.config)
	if err != nil {
		return err
	}
	c := d.cp.APIServer.Client
	want := map[string]bool{}
	lrs, err := c.CoreV1().LimitRanges("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list limit ranges: %w", err)
	}
	for _, lr := range lrs.Items {
		if hasContainerDefaults(lr) {
			want[lr.Namespace] = true
		}
	}
	nss, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	for i := range nss.Items {
		if ns := &nss.Items[i]; ns.Name != "tollgate-system" && len(cfg.ProfilesFor(ns)) > 0 {
			want[ns.Name] = true
		}
	}
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "defaults-probe"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "probe", Image: "registry.k8s.io/pause:3.10"}}},
	}
	for ns := range want {
		err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			p, err := c.CoreV1().Pods(ns).Create(ctx, probe.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				return false, nil // e.g. the default ServiceAccount is not there yet
			}
			_, ok := p.Annotations[annotationDefaulted]
			return ok, nil
		})
		if err != nil {
			return fmt.Errorf("tollgate never defaulted a Pod in namespace %s: %w", ns, err)
		}
	}
	return nil
}

func hasContainerDefaults(lr corev1.LimitRange) bool {
	for _, it := range lr.Spec.Limits {
		if it.Type == corev1.LimitTypeContainer && len(it.Default)+len(it.DefaultRequest) > 0 {
			return true
		}
	}
	return false
}

// waitQuotas waits until kube-controller-manager has filled every quota's
// status and Tollgate's informer has seen it: a dry-run Pod asking for the
// whole quota must draw Tollgate's message naming that quota.
func (d *demo) waitQuotas(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var quotas []corev1.ResourceQuota
	err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		list, err := d.cp.APIServer.Client.CoreV1().ResourceQuotas("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, fmt.Errorf("list quotas: %w", err)
		}
		for _, q := range list.Items {
			if len(q.Status.Hard) == 0 {
				return false, nil
			}
		}
		quotas = list.Items
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("quota status never filled: %w", err)
	}
	for _, q := range quotas {
		probe := wholeQuotaPod(q)
		if probe == "" {
			continue
		}
		err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			r := d.kubectl(ctx, probe, "apply", "--dry-run=server", "-f", "-")
			return strings.Contains(r.Stderr, fmt.Sprintf("quota %q", q.Name)), nil
		})
		if err != nil {
			return fmt.Errorf("tollgate never saw quota %s/%s: %w", q.Namespace, q.Name, err)
		}
	}
	return nil
}

// wholeQuotaPod is a Pod manifest requesting all of q's cpu and memory, or
// "" when q limits neither.
func wholeQuotaPod(q corev1.ResourceQuota) string {
	var req []string
	for _, k := range []string{"cpu", "memory"} {
		for _, name := range []string{"requests." + k, k} {
			if v, ok := q.Status.Hard[corev1.ResourceName(name)]; ok {
				req = append(req, fmt.Sprintf("%s: %q", k, v.String()))
				break
			}
		}
	}
	if len(req) == 0 {
		return ""
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: quota-probe, namespace: %s}
spec:
  containers:
    - name: probe
      image: registry.k8s.io/pause:3.10
      resources:
        requests: {%s}
`, q.Namespace, strings.Join(req, ", "))
}
