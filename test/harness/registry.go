package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryVersion is the CNCF Distribution release make/tools.mk builds.
const RegistryVersion = "v3.1.2"

// RegistryBin is the registry binary built by `make registry-tool`.
func RegistryBin() string {
	if p := os.Getenv("TOLLGATE_REGISTRY_BIN"); p != "" {
		return p
	}
	return filepath.Join(CacheDir(), "tools", "registry-"+RegistryVersion, "registry")
}

// Registry is a real CNCF Distribution registry on loopback, with TLS from
// the test CA (IP SAN 127.0.0.1) and htpasswd basic auth, behind a proxy
// that counts requests and can make it slow, down or answer 429/5xx.
type Registry struct {
	// Host is "127.0.0.1:port": the address images name and clients reach.
	Host string
	// CAPEM and CAFile are the CA that signed its certificate.
	CAPEM  []byte
	CAFile string
	// User and Password are the one htpasswd account.
	User, Password string

	proc  *Process
	proxy *faultProxy
}

// StartRegistry runs the registry with its data, config and log under dir.
func StartRegistry(ctx context.Context, dir string, ca *CA) (*Registry, error) {
	bin := RegistryBin()
	if err := mustExist("registry", bin, "make registry-tool"); err != nil {
		return nil, err
	}
	r := &Registry{User: "tollgate", Password: "registry-pass-" + fmt.Sprint(time.Now().UnixNano()), CAPEM: ca.CertPEM}
	certPEM, keyPEM, err := ca.Issue("registry", []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), 4) // low cost keeps each request fast
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	inner, err := FreePort()
	if err != nil {
		return nil, err
	}
	outer, err := FreePort()
	if err != nil {
		return nil, err
	}
	r.Host = fmt.Sprintf("127.0.0.1:%d", outer)
	r.CAFile = filepath.Join(dir, "ca.crt")
	files := map[string][]byte{
		"ca.crt": ca.CertPEM, "tls.crt": certPEM, "tls.key": keyPEM,
		"htpasswd":    []byte(r.User + ":" + string(hash) + "\n"),
		"config.yaml": registryConfig(dir, inner),
	}
	for name, data := range files {
		if err := writeAtomic(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	r.proc, err = StartProcess("registry", dir, bin, []string{"serve", filepath.Join(dir, "config.yaml")},
		[]string{"OTEL_TRACES_EXPORTER=none"})
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("registry cert: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	target := &url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.0.1:%d", inner)}
	if r.proxy, err = startFaultProxy(r.Host, target, cert, roots); err != nil {
		r.Stop()
		return nil, err
	}
	if err := r.waitReady(ctx, "https://"+r.Host+"/v2/"); err != nil {
		r.Stop()
		return nil, err
	}
	r.proxy.reset()
	return r, nil
}

func registryConfig(dir string, port int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: 127.0.0.1:%d
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: tollgate-test
    path: %s
`, filepath.Join(dir, "data"), port, filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "htpasswd"))
	return b.Bytes()
}

// SetFault makes the registry misbehave (or behave again with Fault{}).
func (r *Registry) SetFault(f Fault) error { return r.proxy.setFault(f) }

// Requests counts the requests that reached the registry's address whose
// method matches (any when "") and whose path contains part.
func (r *Registry) Requests(method, part string) int { return r.proxy.count(method, part) }

// ResetRequests forgets the requests seen so far.
func (r *Registry) ResetRequests() { r.proxy.reset() }

// Stop stops the proxy and the registry process.
func (r *Registry) Stop() {
	if r.proxy != nil {
		r.proxy.close()
	}
	if r.proc != nil {
		r.proc.Stop(5 * time.Second)
	}
}

// Process is the registry process.
func (r *Registry) Process() *Process { return r.proc }

// waitReady polls url until the registry answers with its auth challenge.
func (r *Registry) waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := httpClient(r.CAPEM)
	err := Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if done, err := r.proc.Exited(); done {
			return false, fmt.Errorf("registry exited (%v):\n%s", err, r.proc.Tail(3000))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized, nil
	})
	if err != nil {
		return fmt.Errorf("registry not ready at %s: %w", url, err)
	}
	return nil
}
