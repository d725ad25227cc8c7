package hookserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// start serves an echo of the protocol on a free loopback port and returns
// the server's address and its CA.
func start(t *testing.T, o Options) (*Server, *harness.CA) {
	t.Helper()
	ca, err := harness.NewCA("hookserver test CA")
	if err != nil {
		t.Fatal(err)
	}
	o.CertDir = t.TempDir()
	if err := ca.WriteServing(o.CertDir, "tollgate", []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	o.Host = "127.0.0.1"
	s := New(o)
	s.Register("/proto", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.Proto) }))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	for s.Addr() == "" {
		select {
		case err := <-errc:
			t.Fatalf("Start: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s, ca
}

// client offers h2 and http/1.1, as Go's and most HTTP clients do.
func client(ca *harness.CA, certs ...tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		Proxy:             nil,
		ForceAttemptHTTP2: true,
		TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12},
	}}
}

func get(c *http.Client, s *Server) (string, error) {
	resp, err := c.Get("https://" + s.Addr() + "/proto")
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestHTTP2ClientIsServedHTTP1ByDefault(t *testing.T) {
	s, ca := start(t, Options{})
	got, err := get(client(ca), s)
	if err != nil {
		t.Fatal(err)
	}
	if got != "HTTP/1.1" {
		t.Errorf("a client offering h2 was served %s, want HTTP/1.1", got)
	}
	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: client(ca).Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err == nil {
		p := conn.ConnectionState().NegotiatedProtocol
		_ = conn.Close()
		t.Errorf("a client offering only h2 completed the handshake with ALPN %q; want no h2", p)
	}
}

func TestHTTP2WhenEnabled(t *testing.T) {
	s, ca := start(t, Options{HTTP2: true})
	got, err := get(client(ca), s)
	if err != nil {
		t.Fatal(err)
	}
	if got != "HTTP/2.0" {
		t.Errorf("with HTTP2 on, served %s, want HTTP/2.0", got)
	}
}

func TestTimeoutsSet(t *testing.T) {
	if ReadHeaderTimeout <= 0 || ReadTimeout <= 0 || ReadTimeout > 30*time.Second {
		t.Errorf("ReadHeaderTimeout %v, ReadTimeout %v: both must be set, the read one within the API server's 30 s", ReadHeaderTimeout, ReadTimeout)
	}
}

func clientCert(t *testing.T, ca *harness.CA) tls.Certificate {
	t.Helper()
	c, k, err := ca.IssueClient("kube-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func TestClientCertificateRequiredAndCAReloaded(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "client-ca.crt")
	first, err := harness.NewCA("client CA 1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := harness.NewCA("client CA 2")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, first.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s, ca := start(t, Options{ClientCAFile: caFile})

	if _, err := get(client(ca), s); err == nil {
		t.Error("a request without a client certificate was answered")
	}
	if _, err := get(client(ca, clientCert(t, second)), s); err == nil {
		t.Error("a client certificate from a CA not in the file was accepted")
	}
	if got, err := get(client(ca, clientCert(t, first)), s); err != nil || got != "HTTP/1.1" {
		t.Fatalf("client certificate from the configured CA: got %q, %v", got, err)
	}

	// Rotate: the second CA replaces the first, by rename as a kubelet does.
	tmp := caFile + ".tmp"
	if err := os.WriteFile(tmp, second.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, caFile); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		// A fresh client each time: no connection reuse across the rotation.
		_, err := get(client(ca, clientCert(t, second)), s)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a certificate of the new CA was never accepted after the file changed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := get(client(ca, clientCert(t, first)), s); err == nil {
		t.Error("a certificate of the removed CA is still accepted after the reload")
	}
}

func TestBadClientCAFileRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"not PEM": bad, "missing": filepath.Join(dir, "none.crt")} {
		ca, err := harness.NewCA("x")
		if err != nil {
			t.Fatal(err)
		}
		certDir := t.TempDir()
		if err := ca.WriteServing(certDir, "tollgate", []string{"127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		err = New(Options{Host: "127.0.0.1", CertDir: certDir, ClientCAFile: file}).Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), "client CA file") {
			t.Errorf("%s: Start = %v, want an error naming the client CA file", name, err)
		}
	}
}
