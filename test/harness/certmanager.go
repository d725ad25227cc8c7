package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// CertManagerVersion is the cert-manager whose library test/certmanager
// builds on and whose CRDs the tests install.
const CertManagerVersion = "v1.20.3"

// CertManagerBin is the controller built by `make certmanager`.
func CertManagerBin() string {
	return os.Getenv("TOLLGATE_CERTMANAGER_BIN")
}

// StartCertManager runs the test cert-manager (issuers, certificates, CA
// injector) against kubeconfig, logging to dir/certmanager.log.
func StartCertManager(dir, kubeconfig string) (*Process, error) {
	bin := CertManagerBin()
	if bin == "" {
		return nil, fmt.Errorf("TOLLGATE_CERTMANAGER_BIN is not set (run the tests through `make e2e`, which builds it with `make certmanager`)")
	}
	if err := mustExist("cert-manager controller", bin, "run `make certmanager`"); err != nil {
		return nil, err
	}
	return StartProcess("certmanager", dir, bin, []string{"--kubeconfig=" + kubeconfig}, nil)
}

// InstallCertManagerCRDs applies cert-manager's CRDs from its module
// (through the Go module proxy, into the module cache) and waits until they
// are served.
func InstallCertManagerCRDs(ctx context.Context, kubeconfig string) error {
	tmp, err := os.MkdirTemp("", "tollgate-cm-crds-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/cert-manager/cert-manager@"+CertManagerVersion)
	cmd.Dir = tmp // outside any module: nothing is added to a go.mod
	cmd.Env = append(cmd.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go mod download cert-manager %s: %w", CertManagerVersion, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("go mod download cert-manager: no Dir in %s", out)
	}
	// Server-side apply: the CRDs are too big for the last-applied annotation.
	if r := Kubectl(ctx, kubeconfig, "", "apply", "--server-side", "-f", filepath.Join(mod.Dir, "deploy", "crds")); r.Err != nil {
		return fmt.Errorf("apply cert-manager CRDs: %w", r.Err)
	}
	wait := fmt.Sprintf("--timeout=%s", 60*time.Second)
	if r := Kubectl(ctx, kubeconfig, "", "wait", "--for=condition=Established", wait,
		"crd/certificates.cert-manager.io", "crd/issuers.cert-manager.io", "crd/certificaterequests.cert-manager.io", "crd/clusterissuers.cert-manager.io"); r.Err != nil {
		return fmt.Errorf("cert-manager CRDs not established: %w", r.Err)
	}
	return nil
}
