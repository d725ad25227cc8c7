package scene

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

const selector = "app.kubernetes.io/name=tollgate,app.kubernetes.io/instance=" + Release

// NoKubeProxyValues writes the only values this cluster needs on top of the
// defaults: with no kube-proxy, the Pods find the API server through
// KUBERNETES_SERVICE_HOST/PORT (the node address and the relay's port).
func (s *Scene) NoKubeProxyValues() (string, error) {
	host, port, _ := strings.Cut(s.fwd.Addr, ":")
	values := fmt.Sprintf(`# No kube-proxy on this node: tell client-go where the API server is.
extraEnv:
  - name: KUBERNETES_SERVICE_HOST
    value: %q
  - name: KUBERNETES_SERVICE_PORT
    value: %q
`, host, port)
	path := filepath.Join(s.dir, "no-kube-proxy.yaml")
	if err := os.WriteFile(path, []byte(values), 0o644); err != nil {
		return "", fmt.Errorf("write values: %w", err)
	}
	return path, nil
}

// Install runs `helm install` with the chart's default values (tls.mode
// certManager, two replicas) plus the no-kube-proxy environment, and waits
// as a user would (--wait) for the Deployment to be Ready.
func (s *Scene) Install(ctx context.Context) error {
	values, err := s.NoKubeProxyValues()
	if err != nil {
		return err
	}
	s.Log("helm install %s charts/tollgate --namespace %s --create-namespace -f %s --wait", Release, Namespace, filepath.Base(values))
	begin := time.Now()
	r := s.Helm(ctx, "install", Release, harness.ChartDir(), "--namespace", Namespace, "--create-namespace", "-f", values, "--wait", "--timeout", "4m")
	if r.Err != nil {
		return fmt.Errorf("helm install: %w\n%s\nkubelet:\n%s", r.Err, s.Kubectl(ctx, "get", "pods,events", "-n", Namespace, "-o", "wide").Output(), s.Node.KubeletLog(3000))
	}
	s.Log("helm install --wait returned in %s", since(begin))
	return nil
}

// Pods lists the release's Pods.
func (s *Scene) Pods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := s.API.Client.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	return l.Items, nil
}

// WaitReplicas waits until exactly want Pods of the release are Running and
// Ready (none terminating) and returns them.
func (s *Scene) WaitReplicas(ctx context.Context, want int) ([]corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var pods []corev1.Pod
	last := ""
	err := harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		all, err := s.Pods(ctx)
		if err != nil {
			return false, nil
		}
		pods, last = all[:0], ""
		for _, p := range all {
			last += fmt.Sprintf("%s %s ready=%v; ", p.Name, p.Status.Phase, ready(p))
			if p.DeletionTimestamp == nil && ready(p) {
				pods = append(pods, p)
			}
		}
		return len(pods) == want && len(all) == want, nil
	})
	if err != nil {
		return nil, fmt.Errorf("want %d Ready replicas: %s: %w", want, last, err)
	}
	return pods, nil
}

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// CheckPods shows `kubectl get pods -o wide` and checks, on each replica,
// the chart's probes and security context in the Pod spec and in the
// running process itself: its UID and its read-only root filesystem.
func (s *Scene) CheckPods(ctx context.Context, pods []corev1.Pod) error {
	s.Log("kubectl get pods -n %s -o wide\n%s", Namespace, s.Kubectl(ctx, "get", "pods", "-n", Namespace, "-o", "wide").Output())
	pids, err := s.Node.ContainerPIDs(ctx, "tollgate")
	if err != nil {
		return err
	}
	for _, p := range pods {
		c := p.Spec.Containers[0]
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
			c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			return fmt.Errorf("pod %s: want readiness /readyz and liveness /healthz probes, got %+v / %+v", p.Name, c.ReadinessProbe, c.LivenessProbe)
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
			return fmt.Errorf("pod %s: want the chart's securityContext (read-only root, user 65532), got %+v", p.Name, sc)
		}
		pid, ok := pids[p.Name+"/tollgate"]
		if !ok {
			return fmt.Errorf("pod %s: no running tollgate container on the node (containerd has %v)", p.Name, pids)
		}
		uid, rootRO, err := processFacts(pid)
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.Name, err)
		}
		if uid != "65532" || !rootRO {
			return fmt.Errorf("pod %s: process %d runs as uid %s with read-only root %v; want 65532 and true", p.Name, pid, uid, rootRO)
		}
		s.Log("pod %s: probes /readyz and /healthz on port %s; process %d on the node runs as uid %s, root filesystem read-only, restarts %d",
			p.Name, c.ReadinessProbe.HTTPGet.Port.String(), pid, uid, p.Status.ContainerStatuses[0].RestartCount)
	}
	return nil
}

// processFacts reads a process's real UID and whether its root mount is
// read-only, from /proc as the kernel sees it.
func processFacts(pid int) (uid string, rootRO bool, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", false, fmt.Errorf("read process status: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid = f[1]
		}
	}
	mounts, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return "", false, fmt.Errorf("read process mounts: %w", err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == "/" {
			rootRO = strings.Split(f[5], ",")[0] == "ro" // the last mount on / wins
		}
	}
	return uid, rootRO, nil
}

// CheckCABundle shows that cert-manager's CA injector put the CA of the
// issued serving certificate into every webhook of both configurations.
func (s *Scene) CheckCABundle(ctx context.Context) error {
	sec, err := s.API.Client.CoreV1().Secrets(Namespace).Get(ctx, "tollgate-serving-cert-tls", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("issued secret: %w", err)
	}
	ca := sec.Data["ca.crt"]
	if len(ca) == 0 {
		return fmt.Errorf("secret tollgate-serving-cert-tls has no ca.crt")
	}
	m, err := s.API.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, Release, metav1.GetOptions{})
	if err != nil {
		return err
	}
	v, err := s.API.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, Release, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var seen []string
	for _, w := range m.Webhooks {
		seen = append(seen, fmt.Sprintf("%s (%d bytes, same CA %v)", w.Name, len(w.ClientConfig.CABundle), bytes.Equal(w.ClientConfig.CABundle, ca)))
		if !bytes.Equal(w.ClientConfig.CABundle, ca) {
			return fmt.Errorf("mutating webhook %s: caBundle is not the issued CA", w.Name)
		}
	}
	for _, w := range v.Webhooks {
		seen = append(seen, fmt.Sprintf("%s (%d bytes, same CA %v)", w.Name, len(w.ClientConfig.CABundle), bytes.Equal(w.ClientConfig.CABundle, ca)))
		if !bytes.Equal(w.ClientConfig.CABundle, ca) {
			return fmt.Errorf("validating webhook %s: caBundle is not the issued CA", w.Name)
		}
	}
	s.Log("caBundle injected by cert-manager: %s\n%s", strings.Join(seen, ", "),
		s.Kubectl(ctx, "get", "-n", Namespace, "issuers,certificates").Output())
	return nil
}
