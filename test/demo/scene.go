package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// demo is the running scene: control plane, tollgate, and where things are.
type demo struct {
	examples string
	cp       *harness.ControlPlane
	tg       *harness.Tollgate
	registry *registryScene
	config   string // the config file tollgate serves
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

// startScene starts everything and applies the non-Pod examples. On error
// the returned demo (if any) still needs stop().
func startScene(ctx context.Context, examples string) (*demo, error) {
	for what, p := range map[string]string{"tollgate": harness.TollgateBin(), "helm": harness.HelmBin(), "kube-apiserver": filepath.Join(harness.ControlPlaneBin(), "kube-apiserver")} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing at %s; run `make demo`, which builds it", what, p)
		}
	}
	d := &demo{examples: examples}
	step("starting etcd, kube-apiserver %s (in-tree LimitRanger off) and kube-controller-manager on 127.0.0.1", harness.ControlPlaneVersion)
	begin := time.Now()
	cp, err := harness.Start(ctx, harness.Options{ControllerManager: true})
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	d.cp = cp
	fmt.Printf("    ready in %s at %s\n", time.Since(begin).Round(100*time.Millisecond), cp.APIServer.URL)

	if r := d.kubectl(ctx, "", "create", "namespace", "tollgate-system"); r.Err != nil {
		return d, r.Err
	}
	if err := d.startRegistry(ctx); err != nil {
		return d, err
	}
	if d.config, err = d.writeConfig(); err != nil {
		return d, err
	}
	step("making a local CA and serving certificate (certs/gen), starting tollgate serve --config %s", d.config)
	d.tg, err = harness.StartTollgate(ctx, harness.TollgateOptions{
		Dir:        cp.Dir,
		Kubeconfig: cp.APIServer.Kubeconfig,
		ConfigFile: d.config,
		// Mutual TLS: the API server presents the client certificate of its admission config.
		ClientCAFile: cp.WebhookClient.CAFile,
	})
	if err != nil {
		return d, fmt.Errorf("start tollgate: %w", err)
	}
	fmt.Printf("    webhook %s, health %s\n", d.tg.URL, d.tg.HealthURL)

	step("registering the webhooks rendered by `helm template charts/tollgate --set tls.mode=url --set webhook.url=%s`", d.tg.URL)
	if err := harness.RegisterWebhooks(ctx, cp.APIServer, d.tg, "tollgate"); err != nil {
		return d, err
	}
	for _, f := range []string{"namespaces.yaml", "limitranges.yaml", "resourcequotas.yaml"} {
		step("kubectl apply -f examples/%s", f)
		r := d.kubectl(ctx, "", "apply", "-f", filepath.Join(examples, f))
		if r.Err != nil {
			return d, r.Err
		}
		fmt.Print(indent(r.Output(), "    "))
	}
	if err := d.setUpRegistryNamespace(ctx); err != nil {
		return d, err
	}
	// The scene is only set once Tollgate's informers have caught up.
	if err := d.waitDefaults(ctx); err != nil {
		return d, err
	}
	// Quotas only count once kube-controller-manager has filled their status.
	if err := d.waitQuotas(ctx); err != nil {
		return d, err
	}
	return d, nil
}

func (d *demo) kubectl(ctx context.Context, stdin string, args ...string) harness.Result {
	return harness.Kubectl(ctx, d.cp.APIServer.Kubeconfig, stdin, args...)
}

// pod reads a stored Pod back.
func (d *demo) pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	return d.cp.APIServer.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func (d *demo) printTryIt() {
	kc := d.cp.APIServer.Kubeconfig
	fmt.Printf(`
Try it yourself:
  export KUBECONFIG=%s
  export PATH=%s:$PATH   # kubectl %s, matching the server
  kubectl get pods -A
  kubectl get pod -n team-small web -o jsonpath='{.metadata.annotations.tollgate\.dev/defaulted}{"\n"}'
  kubectl run t --image=quay.io/x/y:1 -n team-small          # denied by allowed-registries
  kubectl run t --image=nginx -n team-small --dry-run=server # allowed, with a warning about "latest"
  kubectl describe quota -n team-quota
  kubectl get pod -n %s signed -o jsonpath='{.spec.containers[0].image}{"\n"}'   # pinned to its digest
  $EDITOR %s   # Tollgate reloads its config while serving

Processes (stopped on exit): %s
Logs: %s
`, kc, harness.ControlPlaneBin(), harness.ControlPlaneVersion, registryNS, d.config, d.pids(), d.cp.Dir)
}

// pids lists name=pid of every process the demo started; the demo test uses
// this line to check that nothing survives the demo.
func (d *demo) pids() string {
	var out []string
	for _, p := range harness.Running() {
		out = append(out, fmt.Sprintf("%s=%d", p.Name, p.PID))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func (d *demo) stop() {
	if d.tg != nil {
		d.tg.Stop()
	}
	if d.registry != nil {
		d.registry.reg.Stop()
	}
	if d.cp != nil {
		d.cp.Stop()
	}
	fmt.Println("Stopped every process and removed", d.cpDir())
}

func (d *demo) cpDir() string {
	if d.cp == nil {
		return "nothing"
	}
	return d.cp.Dir
}

func rel(p string) string {
	if r, err := filepath.Rel(harness.RepoRoot(), p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func indent(s, prefix string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}
