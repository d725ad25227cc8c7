//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// sigConfig requires release-key signatures on the registry's images, with
// onError (deny or warn) for registry trouble.
func sigConfig(reg *harness.Registry, pubKey, onError string) string {
	return fmt.Sprintf(`apiVersion: tollgate.dev/v1alpha1
kind: Config
registries:
  access:
  - {pattern: %[1]q, caFile: %[2]q, timeout: 1s}
verification:
  timeout: 3s
  trust:
  - {name: release, registries: [%[1]q], publicKeyFile: %[3]q}
policies:
  settings:
    require-signature:
      parameters:
        onError: %[4]s
        rules: [{registries: [%[1]q], trust: [release]}]
`, reg.Host, reg.CAFile, pubKey, onError)
}

// TestSignatureVerification: through the real API server, Tollgate, a real
// Distribution registry (TLS, basic auth through the Pod's pull secret),
// images made with crane and signed with the cosign CLI: a signed image
// (Sigstore bundle under the fallback tag, and classic .sig) is admitted,
// an unsigned one refused, a tag moved to unsigned content refused, a Pod
// without the pull secret refused as unverified (unauthorized), a docker.io
// Pod causes no registry request, a Deployment is warned that its Pods will
// be refused; a registry that is down, slow or answering 429 gets the
// configured direction (deny or warn), never "not signed".
func TestSignatureVerification(t *testing.T) {
	ctx := testCtx(t)
	reg := startRegistry(ctx, t)
	tools, err := reg.Tools(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, img := range []struct {
		tag     string
		sign    bool
		classic bool
	}{{"bundle", true, false}, {"classic", true, true}, {"unsigned", false, false}, {"moved", true, false}} {
		d, err := tools.CraneImage(ctx, "team/app", img.tag, "app "+img.tag)
		if err != nil {
			t.Fatal(err)
		}
		if img.sign {
			if err := tools.Sign(ctx, "team/app", d, img.classic); err != nil {
				t.Fatal(err)
			}
		}
		digests[img.tag] = d
	}
	// The signed "moved" tag now names unsigned content.
	if digests["moved"], err = tools.CraneImage(ctx, "team/app", "moved", "app moved, unsigned"); err != nil {
		t.Fatal(err)
	}
	tgs := map[string]*harness.Tollgate{}
	for _, mode := range []string{"deny", "warn"} {
		dir := t.TempDir()
		cfg, err := harness.WriteFile(dir, "config.yaml", sigConfig(reg, filepath.Join(tools.Dir, "cosign.pub"), mode))
		if err != nil {
			t.Fatal(err)
		}
		tg, err := harness.StartTollgate(ctx, harness.TollgateOptions{Name: "tollgate-sig-" + mode, Dir: dir,
			Kubeconfig: env.api.Kubeconfig, ConfigFile: cfg, ClientCAFile: env.cp.WebhookClient.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tg.Stop)
		// The chart's validating default: failurePolicy Fail, timeoutSeconds 10.
		registerOnly(ctx, t, "sig-"+mode, tg, "e2e.tollgate.dev/sig-"+mode, "Fail", "validating")
		ns := "e2e-sig-" + mode
		namespace(t, env.api.Client, ns, map[string]string{"tollgate.dev/ignore": "true", "e2e.tollgate.dev/sig-" + mode: "yes"}, true)
		(&pinScene{reg: reg}).pullSecret(ctx, t, ns, "regcred")
		tgs[mode] = tg
	}
	image := func(tag string) string { return reg.Host + "/team/app:" + tag }

	t.Run("verdicts", func(t *testing.T) {
		for _, tc := range []struct{ tag, wantErr string }{
			{"bundle", ""},
			{"classic", ""},
			{"unsigned", "is not signed by any of release: no signature found"},
			{"moved", fmt.Sprintf("(%s) is not signed by any of release", digests["moved"])},
		} {
			_, stderr, err := createDry(ctx, t, "e2e-sig-deny", podManifest(tc.tag, image(tc.tag), "regcred"))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("%s: refused, want admitted: %s", tc.tag, stderr)
			case tc.wantErr != "" && (err == nil || !strings.Contains(stderr, tc.wantErr)):
				t.Errorf("%s: err %v, stderr %q; want refused with %q", tc.tag, err, stderr, tc.wantErr)
			}
		}
	})

	t.Run("no pull secret", func(t *testing.T) {
		// The repository is private: without the Pod's pull secret the
		// registry refuses, and the Pod is refused as unverified.
		_, stderr, err := createDry(ctx, t, "e2e-sig-deny", podManifest("nosecret", image("bundle"), ""))
		if err == nil || !strings.Contains(stderr, "could not be verified") || !strings.Contains(stderr, "unauthorized") {
			t.Errorf("err %v, stderr %q; want refused as unverified, naming unauthorized", err, stderr)
		}
	})

	t.Run("unselected registry", func(t *testing.T) {
		before := registryOps(ctx, t, tgs["deny"])
		reg.ResetRequests()
		hub := "docker.io/library/nginx:1.27"
		if _, stderr, err := createDry(ctx, t, "e2e-sig-deny", podManifest("hub", hub, "regcred")); err != nil {
			t.Fatalf("%s: %v %s; want admitted (no rule selects it)", hub, err, stderr)
		}
		noRegistryContact(ctx, t, reg, tgs["deny"], before)
	})

	t.Run("workload", func(t *testing.T) {
		deploy := deploymentManifest(image("unsigned"), "regcred")
		registerOnly(ctx, t, "sig-deny-wl", tgs["deny"], "e2e.tollgate.dev/sig-deny", "Fail", "workloads")
		r := kubectl(ctx, deploy, "create", "-n", "e2e-sig-deny", "--dry-run=server", "-f", "-")
		if r.Err != nil || !strings.Contains(r.Stderr, `deployment "web": its Pods will be rejected: [require-signature]`) {
			t.Errorf("err %v, stderr %q; want admitted with the warning that its Pods will be refused", r.Err, r.Stderr)
		}
	})

	t.Run("registry faults", func(t *testing.T) {
		for _, f := range []struct {
			name, kind string
			fault      harness.Fault
		}{
			{"down", "unavailable", harness.Fault{Down: true}},
			{"slow", "timeout", harness.Fault{Delay: 20 * time.Second}},
			{"throttled", "throttled", harness.Fault{Status: http.StatusTooManyRequests}},
		} {
			if err := reg.SetFault(f.fault); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := createDry(ctx, t, "e2e-sig-deny", podManifest(f.name, image("unsigned"), "regcred"))
			if err == nil || !strings.Contains(stderr, "could not be verified: ") || strings.Contains(stderr, "not signed") {
				t.Errorf("%s, deny: err %v, stderr %q; want refused as unverified, never as unsigned", f.name, err, stderr)
			}
			_, stderr, err = createDry(ctx, t, "e2e-sig-warn", podManifest(f.name, image("unsigned"), "regcred"))
			if err != nil || !strings.Contains(stderr, "admitted unverified (onError: warn)") {
				t.Errorf("%s, warn: err %v, stderr %q; want admitted with a warning", f.name, err, stderr)
			}
			if !strings.Contains(stderr, f.kind) {
				t.Errorf("%s: the warning %q does not name the registry error %q", f.name, stderr, f.kind)
			}
			if err := reg.SetFault(harness.Fault{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// deploymentManifest is a one-container Deployment, with a pull secret when
// secret != "".
func deploymentManifest(image, secret string) string {
	spec := fmt.Sprintf("{containers: [{name: main, image: %q}]}", image)
	if secret != "" {
		spec = fmt.Sprintf("{imagePullSecrets: [{name: %s}], containers: [{name: main, image: %q}]}", secret, image)
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: ` + spec + "\n"
}

// noRegistryContact fails unless the registry saw no request since its
// last reset and tg made no registry operation since it counted before.
func noRegistryContact(ctx context.Context, t *testing.T, reg *harness.Registry, tg *harness.Tollgate, before int) {
	t.Helper()
	if n, after := reg.Requests("", ""), registryOps(ctx, t, tg); n != 0 || after != before {
		t.Errorf("a docker.io Pod caused %d requests at the local registry and %d registry operations; want none", n, after-before)
	}
}

// startRegistry runs a Distribution registry with TLS from a new test CA
// and basic auth, stopped when the test ends.
func startRegistry(ctx context.Context, t *testing.T) *harness.Registry {
	t.Helper()
	ca, err := harness.NewCA("e2e registry CA")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := harness.StartRegistry(ctx, t.TempDir(), ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Stop)
	return reg
}
