package harness

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MakeWebhookCerts writes ca.crt, ca.key, tls.crt and tls.key into dir with
// the project's own tool (certs/gen), as a user following the docs would,
// and returns the CA so the serving certificate can be rotated later.
func MakeWebhookCerts(dir string, hosts []string) (*CA, error) {
	root := RepoRoot()
	if _, err := os.Stat(filepath.Join(root, "certs", "gen", "main.go")); err != nil {
		// The tool is missing (older checkout): fall back to the harness CA.
		ca, err := NewCA("tollgate local CA")
		if err != nil {
			return nil, err
		}
		return ca, ca.WriteServing(dir, "tollgate", hosts)
	}
	cmd := exec.Command("go", "run", "./certs/gen", "-out", dir, "-hosts", strings.Join(hosts, ","))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go run ./certs/gen: %w: %s", err, out)
	}
	return LoadCA(dir)
}

// LoadCA reads ca.crt and ca.key (EC) from dir.
func LoadCA(dir string) (*CA, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, fmt.Errorf("load CA: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("load CA from %s: not PEM", dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load CA cert: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load CA key: %w", err)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}, nil
}
