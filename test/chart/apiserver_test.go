//go:build e2e

package chart

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// certManagerVersion pins the cert-manager CRDs the renderings are checked against.
const certManagerVersion = "v1.21.2"

// TestAPIServerAcceptsRenderings sends the chart's renderings to a real kube-apiserver (built
// by `make controlplane`) as a server-side dry run with strict field validation, so a field the
// API does not know, an invalid webhook rule or a PriorityClass the admission chain refuses
// fails here; then installs the default rendering for real with helm.
// Run with `make chart-e2e` (needs the control plane binaries and the Go module proxy for
// cert-manager's CRDs).
func TestAPIServerAcceptsRenderings(t *testing.T) {
	needHelm(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := harness.Start(ctx, harness.Options{APIServer: harness.APIServerOptions{NoServiceAccount: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer harness.StopAll()
	defer cp.Stop()
	kubeconfig := cp.APIServer.Kubeconfig
	kubectl := func(stdin string, args ...string) harness.Result {
		return harness.Kubectl(ctx, kubeconfig, stdin, args...)
	}
	if r := kubectl("", "create", "namespace", namespace); r.Err != nil {
		t.Fatal(r.Output())
	}
	installCertManagerCRDs(t, ctx, kubectl)

	ca := base64.StdEncoding.EncodeToString(testCA(t))
	for name, sets := range map[string][]string{
		"certManager": nil,
		"provided":    {"tls.mode=provided", "tls.secretName=tollgate-tls", "tls.caBundle=" + ca},
		"url":         {"tls.mode=url", "webhook.url=https://127.0.0.1:9443", "tls.caBundle=" + ca},
		"options": {"networkPolicy.enabled=true", "customPolicies.inline.team\\.rego=package team", "replicaCount=1",
			"tls.certManager.issuerRef.name=corp-ca", "tls.certManager.issuerRef.kind=ClusterIssuer",
			"webhook.matchConditions[0].name=has-metadata", "webhook.matchConditions[0].expression=has(object.metadata)",
			"webhook.objectSelector.matchLabels.team=a", "webhook.mutating.failurePolicy=Fail",
			"tracing.endpoint=otel-collector.observability.svc:4317", "tracing.env[0].name=OTEL_SERVICE_NAME", "tracing.env[0].value=tollgate-e2e",
			"webhook.clientAuth.enabled=true", "webhook.clientAuth.caBundle=" + ca, "webhook.http2=true", "metrics.service.enabled=true",
			"networkPolicy.metricsFrom[0].podSelector.matchLabels.app=prometheus", "networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24",
			"namespaceLabels.allowedUsers[0]=system:serviceaccount:flux-system:kustomize-controller"},
	} {
		args := []string{"template", release, chartDir, "--namespace", namespace, "--no-hooks", "--api-versions", vapAPI}
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		out, stderr, err := helm(t, args...)
		if err != nil {
			t.Fatalf("%s: helm template: %v\n%s", name, err, stderr)
		}
		r := kubectl(out, "apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-")
		if r.Err != nil {
			t.Errorf("%s: the API server refuses the rendering:\n%s", name, r.Output())
			continue
		}
		t.Logf("%s:\n%s", name, strings.TrimSpace(r.Stdout))
	}

	r := harness.Helm(ctx, kubeconfig, "install", release, chartDir, "--namespace", namespace)
	if r.Err != nil {
		t.Fatalf("helm install: %v\n%s", r.Err, r.Output())
	}
	for _, obj := range []string{"deployment/tollgate", "poddisruptionbudget/tollgate", "service/tollgate", "certificate/tollgate-serving-cert",
		"mutatingwebhookconfiguration/tollgate", "validatingwebhookconfiguration/tollgate", "networkpolicy/tollgate",
		"validatingadmissionpolicy/tollgate-namespace-labels", "validatingadmissionpolicybinding/tollgate-namespace-labels"} {
		if g := kubectl("", "get", "-n", namespace, obj); g.Err != nil {
			t.Errorf("after helm install: %s", g.Output())
		}
	}
}

// installCertManagerCRDs applies the CRDs from cert-manager's module zip (Go module proxy).
func installCertManagerCRDs(t *testing.T, ctx context.Context, kubectl func(string, ...string) harness.Result) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@"+certManagerVersion)
	cmd.Dir = t.TempDir() // outside any module, so no go.mod changes
	cmd.Env = append(cmd.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download cert-manager: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download cert-manager: no Dir in %s", out)
	}
	if r := kubectl("", "apply", "--server-side", "-f", filepath.Join(mod.Dir, "deploy", "crds")); r.Err != nil {
		t.Fatalf("apply cert-manager CRDs: %s", r.Output())
	}
	if r := kubectl("", "wait", "--for=condition=Established", "--timeout=60s", "crd/certificates.cert-manager.io", "crd/issuers.cert-manager.io"); r.Err != nil {
		t.Fatalf("cert-manager CRDs not established: %s", r.Output())
	}
}
