//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// pinScene is a real Distribution registry (TLS from a test CA, htpasswd)
// and one Tollgate per failure direction, each pinning the registry's
// images in the namespaces labelled e2e.tollgate.dev/pin=yes.
type pinScene struct {
	reg    *harness.Registry
	digest string // of team/app:1.0
	tgs    map[string]*harness.Tollgate
}

const pinLabel = "e2e.tollgate.dev/pin"

func pinConfig(reg *harness.Registry, onError string) string {
	return fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: Config
registries:
  access:
  - {pattern: %q, caFile: %q, timeout: 1s}
pinning:
  onError: %s
  rules:
  - images: [%q]
    namespaceSelector: {matchLabels: {%s: "yes"}}
`, reg.Host, reg.CAFile, onError, reg.Host, pinLabel)
}

func startPinScene(ctx context.Context, t *testing.T) *pinScene {
	t.Helper()
	reg := startRegistry(ctx, t)
	s := &pinScene{reg: reg, tgs: map[string]*harness.Tollgate{}}
	var err error
	if s.digest, err = reg.Push(ctx, "team/app", "1.0", "app one"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"admit-unpinned-with-warning", "deny"} {
		dir := t.TempDir()
		cfg, err := harness.WriteFile(dir, "config.yaml", pinConfig(reg, mode))
		if err != nil {
			t.Fatal(err)
		}
		tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{Name: "tollgate-pin-" + mode, Dir: dir,
			Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tg.Stop)
		// Registered with the chart's defaults for the mutating webhook
		// (failurePolicy Ignore, timeoutSeconds 5): only Tollgate's own
		// warning or denial shows that it answered in time.
		registerOnly(ctx, t, "pin-"+mode[:4], tg, "e2e.tollgate.dev/pin-"+mode[:4], "Ignore", "mutating", "workloads")
		s.tgs[mode] = tg
	}
	return s
}

// pinNamespace makes a namespace served by the Tollgate of mode only.
func pinNamespace(t *testing.T, name, mode string, pin bool) {
	t.Helper()
	labels := map[string]string{"tollgate.dev/ignore": "true", "e2e.tollgate.dev/pin-" + mode[:4]: "yes"}
	if pin {
		labels[pinLabel] = "yes"
	}
	namespace(t, env.api.Client, name, labels, true)
}

// pullSecret creates a dockerconfigjson Secret for the registry in ns.
func (s *pinScene) pullSecret(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(s.reg.User + ":" + s.reg.Password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.reg.Host, auth)
	_, err := env.api.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// podManifest is a one-container Pod, with a pull secret when secret != "".
func podManifest(name, image, secret string) string {
	m := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: main, image: %q}]\n", name, image)
	if secret != "" {
		m += "  imagePullSecrets: [{name: " + secret + "}]\n"
	}
	return m
}

// createDry creates manifest in ns with server-side dry run, as a user
// would, and returns the object the API server would store and what
// kubectl printed on stderr (warnings, or the denial).
func createDry(ctx context.Context, t *testing.T, ns, manifest string) (*corev1.Pod, string, error) {
	t.Helper()
	r := kubectl(ctx, manifest, "create", "-n", ns, "--dry-run=server", "-o", "json", "-f", "-")
	if r.Err != nil {
		return nil, r.Stderr, r.Err
	}
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(r.Stdout), &pod); err != nil {
		t.Fatalf("decode %q: %v", r.Stdout, err)
	}
	return &pod, r.Stderr, nil
}

// registryOps sums tollgate_registry_request_seconds_count on a Tollgate's
// metrics: every registry operation it attempted, failed ones included.
func registryOps(ctx context.Context, t *testing.T, tg *harness.Tollgate) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tg.MetricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "tollgate_registry_request_seconds_count{") {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
				n += int(v)
			}
		}
	}
	return n
}

// TestPinning: through the real API server and a real Distribution
// registry, a tag is pinned to its digest with the Pod's pull secret or
// its service account's, and recorded in the annotation; without
// credentials the Pod is admitted unpinned with the reason; a Pod naming
// docker.io/library/nginx causes no registry operation at all; a
// Deployment is told what will be pinned and left as written; and a
// registry that is down, slow or answering 429 is answered in each failure
// direction before the webhook's timeout.
func TestPinning(t *testing.T) {
	ctx := testCtx(t)
	s := startPinScene(ctx, t)
	admit := "admit-unpinned-with-warning"
	pinNamespace(t, "e2e-pin", admit, true)
	s.pullSecret(ctx, t, "e2e-pin", "regcred")
	app := s.reg.Host + "/team/app:1.0"

	t.Run("pod pull secret", func(t *testing.T) {
		before := registryOps(ctx, t, s.tgs[admit])
		s.reg.ResetRequests()
		pod, stderr, err := createDry(ctx, t, "e2e-pin", podManifest("pinned", app, "regcred"))
		if err != nil {
			t.Fatalf("create: %v\n%s", err, stderr)
		}
		if got, want := pod.Spec.Containers[0].Image, app+"@"+s.digest; got != want {
			t.Fatalf("image %q, want %q (stderr %q)", got, want, stderr)
		}
		note := "image " + app + " pinned to " + s.digest + " for container main"
		if got := pod.Annotations["tollgate.dev/defaulted"]; !strings.Contains(got, note) {
			t.Errorf("annotation %q does not record %q", got, note)
		}
		if n := s.reg.Requests(http.MethodHead, "/manifests/1.0"); n != 1 {
			t.Errorf("%d manifest HEADs at the registry, want 1", n)
		}
		if after := registryOps(ctx, t, s.tgs[admit]); after <= before {
			t.Errorf("tollgate_registry_request_seconds_count %d -> %d: the lookup was not counted", before, after)
		}
	})

	t.Run("no credentials", func(t *testing.T) {
		pod, stderr, err := createDry(ctx, t, "e2e-pin", podManifest("nocreds", s.reg.Host+"/team/app:1.0", ""))
		if err != nil {
			t.Fatalf("create: %v\n%s", err, stderr)
		}
		if pod.Spec.Containers[0].Image != app || !strings.Contains(stderr, "admitted unpinned: registry unauthorized") {
			t.Errorf("image %q, stderr %q; want the tag as written and an unauthorized warning", pod.Spec.Containers[0].Image, stderr)
		}
	})

	t.Run("service account pull secret", func(t *testing.T) {
		pinNamespace(t, "e2e-pin-sa", admit, true)
		s.pullSecret(ctx, t, "e2e-pin-sa", "sa-regcred")
		patch := `{"imagePullSecrets":[{"name":"sa-regcred"}]}`
		if r := kubectl(ctx, "", "patch", "serviceaccount", "default", "-n", "e2e-pin-sa", "-p", patch); r.Err != nil {
			t.Fatal(r.Output())
		}
		pod, stderr, err := createDry(ctx, t, "e2e-pin-sa", podManifest("sa", app, ""))
		if err != nil || pod.Spec.Containers[0].Image != app+"@"+s.digest {
			t.Fatalf("image %v, err %v, stderr %q; want it pinned with the service account's secret", imageOf(pod), err, stderr)
		}
	})

	t.Run("ephemeral container", func(t *testing.T) {
		c := env.api.Client.CoreV1().Pods("e2e-pin")
		base := simplePod("debugged", pause)
		base.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		p, err := c.Create(ctx, base, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), p.Name, metav1.DeleteOptions{}) })
		// What `kubectl debug` sends: the Pod with one more ephemeral container.
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: app}})
		got, err := c.UpdateEphemeralContainers(ctx, p.Name, p, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if img := got.Spec.EphemeralContainers[0].Image; img != app+"@"+s.digest {
			t.Errorf("ephemeral container image %q, want %q", img, app+"@"+s.digest)
		}
		if got.Spec.Containers[0].Image != pause {
			t.Errorf("container image changed to %q", got.Spec.Containers[0].Image)
		}
	})

	t.Run("unselected registry", func(t *testing.T) {
		before := registryOps(ctx, t, s.tgs[admit])
		s.reg.ResetRequests()
		hub := "docker.io/library/nginx:1.27"
		pod, stderr, err := createDry(ctx, t, "e2e-pin", podManifest("hub", hub, "regcred"))
		if err != nil || pod.Spec.Containers[0].Image != hub || strings.Contains(stderr, "pinned") {
			t.Fatalf("image %v, err %v, stderr %q; want it admitted as written", imageOf(pod), err, stderr)
		}
		noRegistryContact(ctx, t, s.reg, s.tgs[admit], before)
	})

	t.Run("workload", func(t *testing.T) {
		deploy := deploymentManifest(app, "")
		r := kubectl(ctx, deploy, "create", "-n", "e2e-pin", "--dry-run=server", "-o", "jsonpath={.spec.template.spec.containers[0].image}", "-f", "-")
		if r.Err != nil || r.Stdout != app || !strings.Contains(r.Stderr, "image tags will be pinned to digests in the Pods this creates") {
			t.Errorf("template image %q, stderr %q, err %v; want it as written and a warning of what will be pinned", r.Stdout, r.Stderr, r.Err)
		}
	})

	t.Run("registry faults", func(t *testing.T) {
		pinNamespace(t, "e2e-pin-deny", "deny", true)
		s.pullSecret(ctx, t, "e2e-pin-deny", "regcred")
		for _, f := range []struct {
			name, kind string
			fault      harness.Fault
		}{
			{"down", "unavailable", harness.Fault{Down: true}},
			{"slow", "timeout", harness.Fault{Delay: 20 * time.Second}},
			{"throttled", "throttled", harness.Fault{Status: http.StatusTooManyRequests}},
		} {
			if err := s.reg.SetFault(f.fault); err != nil {
				t.Fatal(err)
			}
			// A tag of its own per case: a resolved tag is cached for seconds.
			image := s.reg.Host + "/team/app:" + f.name
			pod, stderr, err := createDry(ctx, t, "e2e-pin", podManifest(f.name, image, "regcred"))
			if err != nil || pod.Spec.Containers[0].Image != image || !strings.Contains(stderr, "admitted unpinned: registry "+f.kind) {
				t.Errorf("%s, admit: image %v, err %v, stderr %q; want admitted as written with a %s warning", f.name, imageOf(pod), err, stderr, f.kind)
			}
			_, stderr, err = createDry(ctx, t, "e2e-pin-deny", podManifest(f.name, image+"-deny", "regcred"))
			if err == nil || !strings.Contains(stderr, "could not be pinned to a digest (pinning.onError is deny): registry "+f.kind) {
				t.Errorf("%s, deny: err %v, stderr %q; want Tollgate's denial naming %s", f.name, err, stderr, f.kind)
			}
			if err := s.reg.SetFault(harness.Fault{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func imageOf(p *corev1.Pod) string {
	if p == nil || len(p.Spec.Containers) == 0 {
		return "<none>"
	}
	return p.Spec.Containers[0].Image
}
