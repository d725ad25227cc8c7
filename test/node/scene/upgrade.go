package scene

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// busyboxPod comes from an allowed registry (docker.io/library) with a
// pinned tag, so only the custom no-busybox policy has anything to say.
const busyboxPod = `apiVersion: v1
kind: Pod
metadata:
  name: shell
  namespace: team-small
spec:
  containers:
  - name: shell
    image: docker.io/library/busybox:1.36
`

// noBusybox is a custom policy as a user adds one through customPolicies.
func noBusybox(action string) string {
	return fmt.Sprintf(`customPolicies:
  inline:
    no-busybox.rego: |
      package tollgate.no_busybox

      import data.tollgate.lib.pod

      metadata := {
        "description": "No busybox images.",
        "defaultAction": %q,
        "parameters": {"type": "object", "additionalProperties": false},
      }

      deny contains {"msg": msg, "path": c.path} if {
        some c in pod.images
        ref := tollgate.image.parse(c.image)
        ref.valid
        endswith(ref.repository, "/busybox")
        msg := sprintf("%%s image %%q is busybox (action %s)", [pod.describe(c), c.image])
      }
`, action, action)
}

func (s *Scene) upgrade(ctx context.Context, name string, values ...string) error {
	base, err := s.NoKubeProxyValues()
	if err != nil {
		return err
	}
	args := []string{"upgrade", Release, harness.ChartDir(), "--namespace", Namespace, "-f", base}
	shown := []string{filepath.Base(base)}
	for i, v := range values {
		path := filepath.Join(s.dir, fmt.Sprintf("%s-%d.yaml", name, i))
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			return fmt.Errorf("write values: %w", err)
		}
		args = append(args, "-f", path)
		shown = append(shown, filepath.Base(path))
	}
	begin := time.Now()
	if r := s.Helm(ctx, append(args, "--wait", "--timeout", "4m")...); r.Err != nil {
		return fmt.Errorf("helm upgrade: %w", r.Err)
	}
	s.Log("helm upgrade %s charts/tollgate -f %s --wait: done in %s", Release, strings.Join(shown, " -f "), since(begin))
	return nil
}

// UpgradeAddPolicy adds the custom policy in warn mode. A new policies
// ConfigMap is a new volume, so this upgrade rolls the Pods (maxUnavailable 0).
func (s *Scene) UpgradeAddPolicy(ctx context.Context) error {
	if err := s.upgrade(ctx, "add-policy", noBusybox("warn")); err != nil {
		return err
	}
	if _, err := s.WaitReplicas(ctx, 2); err != nil {
		return err
	}
	return s.Eventually(ctx, "no-busybox warns", func(ctx context.Context) error {
		o, err := s.Apply(ctx, busyboxPod, true)
		if err != nil || !o.Allowed || !strings.Contains(strings.Join(o.Warnings, " "), "[no-busybox]") {
			return fmt.Errorf("busybox: %v %v", o, err)
		}
		s.Log("busybox Pod (dry run): %s", o)
		return nil
	})
}

// UpgradeHotReload changes the config (examples/config.yaml: a defaults
// profile, registries allowed, latest tag warns, quota warn at 80%%) and the
// policy's action to deny. Only ConfigMaps change: the same Pods, with no
// restart, pick both up through their mounted files.
func (s *Scene) UpgradeHotReload(ctx context.Context) error {
	before, err := s.WaitReplicas(ctx, 2)
	if err != nil {
		return err
	}
	outsider, _, err := s.Example("04-registry-not-allowed.yaml")
	if err != nil {
		return err
	}
	if o, err := s.Apply(ctx, outsider, true); err != nil || !o.Allowed {
		return fmt.Errorf("examples/pods/04 under the default config: want allowed, got %v %v", o, err)
	}
	gens, err := generations(ctx, before)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(s.examples, "config.yaml"))
	if err != nil {
		return fmt.Errorf("read examples/config.yaml: %w", err)
	}
	config := "config:\n  " + strings.ReplaceAll(strings.TrimSpace(string(raw)), "\n", "\n  ") + "\n"
	if err := s.upgrade(ctx, "hot-reload", noBusybox("deny"), config); err != nil {
		return err
	}
	begin := time.Now()
	err = s.Eventually(ctx, "both replicas took a new config generation", func(ctx context.Context) error {
		now, err := generations(ctx, before)
		if err != nil {
			return err
		}
		for pod, g := range now {
			if g <= gens[pod] {
				return fmt.Errorf("pod %s: generation %v (was %v)", pod, g, gens[pod])
			}
		}
		s.Log("tollgate_config_generation per replica: before %v, now %v", gens, now)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.checkReloaded(ctx, outsider); err != nil {
		return err
	}
	after, err := s.WaitReplicas(ctx, 2)
	if err != nil {
		return err
	}
	if err := unchanged(before, after); err != nil {
		return fmt.Errorf("a config-only upgrade: %w", err)
	}
	s.Log("config and policy reloaded %s after helm upgrade returned, by the same Pods (%s, %s), 0 restarts",
		since(begin), after[0].Name, after[1].Name)
	return nil
}

// checkReloaded asks, six times in a row, for what the new config and policy
// decide; both replicas answer, one at random each time.
func (s *Scene) checkReloaded(ctx context.Context, outsider string) error {
	small, _, err := s.Example("01-small-profile-defaults.yaml")
	if err != nil {
		return err
	}
	seen := 0
	return s.Eventually(ctx, "new config and policy in force", func(ctx context.Context) error {
		b, err := s.Apply(ctx, busyboxPod, true)
		if err != nil || b.Allowed || !strings.Contains(b.Denial, "[no-busybox]") {
			seen = 0
			return fmt.Errorf("busybox: %v %v", b, err)
		}
		o, err := s.Apply(ctx, outsider, true)
		if err != nil || o.Allowed || !strings.Contains(o.Denial, "allowed-registries") {
			seen = 0
			return fmt.Errorf("examples/pods/04: %v %v", o, err)
		}
		d, err := s.Apply(ctx, small, true)
		if err != nil || !d.Allowed || d.Pod.Annotations[annotationDefaulted] == "" {
			seen = 0
			return fmt.Errorf("examples/pods/01 (profile small): %v %v", d, err)
		}
		if seen++; seen < 6 {
			return fmt.Errorf("%d checks in a row", seen)
		}
		s.Log("after the upgrade, 6 times in a row: busybox Pod %s\n    examples/pods/04 (quay.io) %s\n    examples/pods/01 (profile small) %s", b, o, d)
		return nil
	})
}

// Examples applies every examples/pods file for real, as `make demo` does,
// with the node cordoned so no example Pod is ever started (their images
// would have to come from public registries). Each outcome must be what the
// file's first line says. The stored Pods are deleted afterwards.
func (s *Scene) Examples(ctx context.Context) error {
	if err := s.cordon(ctx, true); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(s.examples, "pods", "*.yaml"))
	if err != nil {
		return err
	}
	var wrong []string
	for _, f := range files {
		manifest, expect, err := s.Example(filepath.Base(f))
		if err != nil {
			return err
		}
		o, err := s.Apply(ctx, manifest, false)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		s.Log("kubectl create -f examples/pods/%s\n    expected: %s\n    got:      %s", filepath.Base(f), expect, o)
		if !matches(expect, o) {
			wrong = append(wrong, filepath.Base(f))
		}
	}
	for _, ns := range []string{"team-small", "team-limits", "team-quota"} {
		if r := s.Kubectl(ctx, "delete", "pods", "--all", "-n", ns, "--wait"); r.Err != nil {
			return r.Err
		}
	}
	if err := s.cordon(ctx, false); err != nil {
		return err
	}
	if len(wrong) > 0 {
		return fmt.Errorf("examples not as their comment says: %v", wrong)
	}
	return nil
}

func matches(expect string, o Outcome) bool {
	e := strings.ToLower(expect)
	switch {
	case strings.HasPrefix(e, "allowed with a warning"):
		return o.Allowed && len(o.Warnings) > 0
	case strings.HasPrefix(e, "allowed"):
		return o.Allowed
	default:
		return !o.Allowed
	}
}

func (s *Scene) cordon(ctx context.Context, on bool) error {
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%v}}`, on)
	if _, err := s.API.Client.CoreV1().Nodes().Patch(ctx, s.Node.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon %s (%v): %w", s.Node.Name, on, err)
	}
	return nil
}

// Uninstall runs `helm uninstall` and shows no webhook configuration left
// and a Pod (the locally built pause image, never pulled) created and
// Running on the node afterwards.
func (s *Scene) Uninstall(ctx context.Context) error {
	begin := time.Now()
	if r := s.Helm(ctx, "uninstall", Release, "--namespace", Namespace, "--wait", "--timeout", "3m"); r.Err != nil {
		return fmt.Errorf("helm uninstall: %w", r.Err)
	}
	m, err := s.API.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	v, err := s.API.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(m.Items)+len(v.Items) > 0 {
		return fmt.Errorf("after helm uninstall: %d mutating and %d validating webhook configurations left", len(m.Items), len(v.Items))
	}
	s.Log("helm uninstall --wait: done in %s; webhook configurations left: 0", since(begin))
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "after-uninstall", Namespace: "team-limits"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "pause", Image: harness.PauseImage, ImagePullPolicy: corev1.PullNever,
		}}},
	}
	begin = time.Now()
	if _, err := s.API.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create a Pod after uninstall: %w", err)
	}
	err = s.Eventually(ctx, "the Pod runs", func(ctx context.Context) error {
		p, err := s.API.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil || p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %v, %v", phase(p), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Log("a Pod created after the uninstall is Running in %s:\n%s", since(begin),
		s.Kubectl(ctx, "get", "pod", pod.Name, "-n", pod.Namespace, "-o", "wide").Output())
	return s.API.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
}

func phase(p *corev1.Pod) corev1.PodPhase {
	if p == nil {
		return ""
	}
	return p.Status.Phase
}
