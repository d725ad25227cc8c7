package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestEvalShowsStoredPod: eval's object is the Pod the API server stores: a
// container with only limits shows requests equal to them, the pull policy
// follows the tag, and a quota on requests predicts no must-specify denial.
func TestEvalShowsStoredPod(t *testing.T) {
	dir := t.TempDir()
	pod := filepath.Join(dir, "pod.yaml")
	cluster := filepath.Join(dir, "cluster.yaml")
	must(t, os.WriteFile(pod, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a}\nspec:\n  containers:\n  - name: app\n    image: nginx\n    resources: {limits: {cpu: 500m, memory: 256Mi}}\n"), 0o644))
	must(t, os.WriteFile(cluster, []byte("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: a}\nspec: {hard: {requests.cpu: '2', requests.memory: 1Gi}}\nstatus:\n  hard: {requests.cpu: '2', requests.memory: 1Gi}\n  used: {requests.cpu: '0', requests.memory: '0'}\n"), 0o644))
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"eval", "-f", pod, "--cluster", cluster, "-o", "json", "--config", writeCfg(t, dir)}, IO{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	if code != ExitOK {
		t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	var out struct {
		Object corev1.Pod `json:"object"`
	}
	must(t, json.Unmarshal(stdout.Bytes(), &out))
	c := out.Object.Spec.Containers[0]
	if c.Resources.Requests.Cpu().String() != "500m" || c.Resources.Requests.Memory().String() != "256Mi" {
		t.Errorf("requests %v, want the limits (500m, 256Mi)", c.Resources.Requests)
	}
	if c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("imagePullPolicy %q, want Always (nginx is nginx:latest)", c.ImagePullPolicy)
	}
}

func writeCfg(t *testing.T, dir string) string {
	p := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(p, []byte("apiVersion: tollgate.dev/v1alpha1\nkind: Config\npolicies: {settings: {disallowed-tags: {action: \"off\"}}}\n"), 0o644))
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
