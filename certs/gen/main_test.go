package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRunWritesAVerifiableChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "local")
	now := time.Now()
	hosts := []string{"127.0.0.1", "localhost", "tollgate.tollgate-system.svc"}
	if err := run(dir, hosts, 24*time.Hour, 48*time.Hour, now); err != nil {
		t.Fatal(err)
	}

	ca := readCert(t, filepath.Join(dir, "ca.crt"))
	if !ca.IsCA {
		t.Error("ca.crt is not a CA certificate")
	}
	leaf := readCert(t, filepath.Join(dir, "tls.crt"))
	if leaf.IsCA {
		t.Error("tls.crt must not be a CA")
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("serving key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if got := leaf.NotAfter.Sub(now); got > 24*time.Hour || got < 23*time.Hour {
		t.Errorf("serving certificate lives %s, want 24h", got)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %q: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: pool}); err == nil {
		t.Error("certificate verified for a host it was not issued for")
	}

	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")); err != nil {
		t.Errorf("tls.crt and tls.key do not form a key pair: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")); err != nil {
		t.Errorf("ca.crt and ca.key do not form a key pair: %v", err)
	}
	for _, k := range []string{"ca.key", "tls.key"} {
		fi, err := os.Stat(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", k, fi.Mode().Perm())
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		hosts      []string
		leaf, caTT time.Duration
	}{
		"no hosts":           {nil, time.Hour, 2 * time.Hour},
		"leaf outlives CA":   {[]string{"localhost"}, 3 * time.Hour, 2 * time.Hour},
		"non-positive valid": {[]string{"localhost"}, 0, 2 * time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := run(dir, c.hosts, c.leaf, c.caTT, time.Now()); err == nil {
				t.Fatal("want an error")
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("wrote %d files despite the error", len(entries))
			}
		})
	}
}

func TestSplitHosts(t *testing.T) {
	got := splitHosts(" 127.0.0.1, ,localhost ,")
	if len(got) != 2 || got[0] != "127.0.0.1" || got[1] != "localhost" {
		t.Errorf("splitHosts = %q", got)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("%s: want exactly one CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
