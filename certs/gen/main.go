// Command gen writes a throwaway CA and a serving certificate signed by it, for running
// tollgate outside a cluster (tls.mode=url) and for tests:
//
//	go run ./certs/gen -out certs/local -hosts 127.0.0.1,localhost,tollgate.tollgate-system.svc
//
// It writes ca.crt, ca.key, tls.crt and tls.key (PEM, ECDSA P-256). Hosts that parse as IP
// addresses become IP SANs, the rest DNS SANs. Keys are written with mode 0600. Existing files
// are replaced, so a new CA is made on every run.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "certs/local", "directory to write ca.crt, ca.key, tls.crt and tls.key into")
	hosts := flag.String("hosts", "127.0.0.1,localhost", "comma-separated DNS names and IP addresses of the serving certificate")
	validFor := flag.Duration("valid-for", 90*24*time.Hour, "lifetime of the serving certificate")
	caValidFor := flag.Duration("ca-valid-for", 365*24*time.Hour, "lifetime of the CA certificate")
	flag.Parse()

	if err := run(*out, splitHosts(*hosts), *validFor, *caValidFor, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote ca.crt, ca.key, tls.crt, tls.key to %s\n", *out)
}

func splitHosts(s string) []string {
	var hosts []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// run makes the CA and the serving certificate and writes the four files into dir.
func run(dir string, hosts []string, validFor, caValidFor time.Duration, now time.Time) error {
	if len(hosts) == 0 {
		return errors.New("no hosts given (-hosts)")
	}
	if validFor <= 0 || caValidFor <= 0 {
		return errors.New("validity periods must be positive")
	}
	if validFor > caValidFor {
		return fmt.Errorf("serving certificate lifetime %s exceeds the CA's %s", validFor, caValidFor)
	}
	// Backdate a little so a clock that is slightly behind still accepts the certificates.
	notBefore := now.Add(-5 * time.Minute)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "tollgate local CA", Organization: []string{"tollgate (development only)"}},
		NotBefore:             notBefore,
		NotAfter:              now.Add(caValidFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    notBefore,
		NotAfter:     now.Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else {
			leaf.DNSNames = append(leaf.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create serving certificate: %w", err)
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := []struct {
		name  string
		block string
		der   func() ([]byte, error)
		mode  os.FileMode
	}{
		{"ca.crt", "CERTIFICATE", func() ([]byte, error) { return caDER, nil }, 0o644},
		{"ca.key", "EC PRIVATE KEY", func() ([]byte, error) { return x509.MarshalECPrivateKey(caKey) }, 0o600},
		{"tls.crt", "CERTIFICATE", func() ([]byte, error) { return leafDER, nil }, 0o644},
		{"tls.key", "EC PRIVATE KEY", func() ([]byte, error) { return x509.MarshalECPrivateKey(key) }, 0o600},
	}
	for _, f := range files {
		der, err := f.der()
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.block, Bytes: der}), f.mode); err != nil {
			return err
		}
	}
	return nil
}

// writeFile replaces path atomically, so a watching server never reads half a file.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
