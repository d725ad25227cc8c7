//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
)

// TestImageVolumeChecked: an image volume (spec.volumes[].image.reference)
// pulls an image as surely as a container does. On the real API server, a
// Pod mounting one from a registry the config does not allow is denied
// naming the volume's path, and a Deployment with that template is admitted
// with a warning that its Pods will be.
func TestImageVolumeChecked(t *testing.T) {
	ctx := testCtx(t)
	ns := "e2e-imagevolume"
	namespace(t, env.api.Client, ns, nil, true)
	spec := `
      containers:
        - name: main
          image: ` + pause + `
          volumeMounts: [{name: payload, mountPath: /payload}]
      volumes:
        - name: payload
          image: {reference: "evil.example.com/payload:latest", pullPolicy: IfNotPresent}
`
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: iv}\nspec:" + strings.ReplaceAll(spec, "\n      ", "\n  ")
	deploy := `apiVersion: apps/v1
kind: Deployment
metadata: {name: iv}
spec:
  selector: {matchLabels: {app: iv}}
  template:
    metadata: {labels: {app: iv}}
    spec:` + spec
	eventually(t, "Pod with a disallowed image volume denied", func(ctx context.Context) (bool, string) {
		r := kubectl(ctx, pod, "apply", "-n", ns, "--dry-run=server", "-f", "-")
		return r.Err != nil && strings.Contains(r.Stderr, "evil.example.com/payload:latest") && strings.Contains(r.Stderr, "allowed-registries"), r.Output()
	})
	r := kubectl(ctx, pod, "apply", "-n", ns, "--dry-run=server", "-f", "-")
	t.Logf("Pod: %s", strings.TrimSpace(r.Stderr))
	r = kubectl(ctx, deploy, "apply", "-n", ns, "--dry-run=server", "-f", "-")
	if r.Err != nil || !strings.Contains(r.Stderr, "Warning:") || !strings.Contains(r.Stderr, "evil.example.com/payload:latest") {
		t.Fatalf("Deployment with the same template: want admitted with a warning naming the image volume, got %s", r.Output())
	}
	t.Logf("Deployment: %s", strings.TrimSpace(r.Stderr))
}
