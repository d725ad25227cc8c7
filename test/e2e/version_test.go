//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// The control plane reports a real version (stamped by make controlplane),
// so kubectl and helm can parse it.
func TestServerVersion(t *testing.T) {
	r := kubectl(testCtx(t), "", "version")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if !strings.Contains(r.Stdout, "Server Version: "+harness.ControlPlaneVersion) {
		t.Errorf("kubectl version does not show server %s:\n%s", harness.ControlPlaneVersion, r.Output())
	}
	if strings.Contains(r.Stderr, "WARNING") {
		t.Errorf("kubectl warns about the versions:\n%s", r.Stderr)
	}
}
