//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
)

// Rotating the files in --cert-dir while serving: the next TLS handshake
// presents the new certificate, and the API server keeps calling the
// webhooks (same CA, so the registered caBundle still fits).
func TestCertRotation(t *testing.T) {
	before, err := env.tg.ServingCert()
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := env.tg.RotateCert()
	if err != nil {
		t.Fatal(err)
	}
	if rotated.SerialNumber.Cmp(before.SerialNumber) == 0 {
		t.Fatal("rotation produced the same serial")
	}
	eventually(t, "webhook presents the rotated certificate", func(context.Context) (bool, string) {
		c, err := env.tg.ServingCert()
		if err != nil {
			return false, err.Error()
		}
		return c.SerialNumber.Cmp(rotated.SerialNumber) == 0, fmt.Sprintf("serial %s (CN %s)", c.SerialNumber, c.Subject.CommonName)
	})
	ctx := testCtx(t)
	if err := harnessWait(ctx); err != nil {
		t.Fatalf("API server stopped calling the webhooks after rotation: %v", err)
	}
}
