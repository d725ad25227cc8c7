package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TollgateOptions configures one `tollgate serve` process.
type TollgateOptions struct {
	// Name names the log file and directory (default "tollgate").
	Name string
	// Dir is where certs and logs go (a control plane's Dir is fine).
	Dir        string
	Kubeconfig string
	// ConfigFile is passed as --config when set.
	ConfigFile string
	// PolicyDirs are passed as repeated --policies.
	PolicyDirs []string
	// Namespace is Tollgate's own namespace (default tollgate-system).
	Namespace string
	// ExtraArgs are appended to the serve flags, e.g. --tracing-endpoint=127.0.0.1:4317.
	ExtraArgs []string
	// ClientCAFile, when set, is passed as --client-ca-file: Tollgate then
	// answers only callers with a client certificate from that CA (the
	// control plane's WebhookClient.CAFile).
	ClientCAFile string
	// Unready starts without waiting for /readyz (only /healthz and the
	// TLS port), for a Tollgate that is expected not to become ready.
	Unready bool
}

// Tollgate is a running `tollgate serve`, bound to loopback only.
type Tollgate struct {
	// URL is the webhook base URL, e.g. https://127.0.0.1:40123.
	URL        string
	Port       int
	CertDir    string
	CA         *CA
	HealthURL  string
	MetricsURL string

	opts TollgateOptions
	args []string
	proc *Process
}

// StartTollgate makes serving certs and starts bin/tollgate serve, waiting
// until /readyz answers and the webhook port completes a TLS handshake.
func StartTollgate(ctx context.Context, o TollgateOptions) (*Tollgate, error) {
	bin := TollgateBin()
	if err := mustExist("tollgate binary", bin, "run `make build`, or set TOLLGATE_BIN"); err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = "tollgate"
	}
	if o.Namespace == "" {
		o.Namespace = "tollgate-system"
	}
	certDir := filepath.Join(o.Dir, o.Name+"-certs")
	ca, err := MakeWebhookCerts(certDir, []string{"127.0.0.1", "localhost"})
	if err != nil {
		return nil, err
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = FreePort(); err != nil {
			return nil, err
		}
	}
	t := &Tollgate{
		URL:        fmt.Sprintf("https://127.0.0.1:%d", ports[0]),
		Port:       ports[0],
		CertDir:    certDir,
		CA:         ca,
		HealthURL:  fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		MetricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[2]),
		opts:       o,
	}
	t.args = []string{"serve",
		"--bind-address=127.0.0.1",
		"--port=" + strconv.Itoa(ports[0]),
		"--cert-dir=" + certDir,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", ports[2]),
		"--kubeconfig=" + o.Kubeconfig,
		"--namespace=" + o.Namespace,
	}
	if o.ConfigFile != "" {
		t.args = append(t.args, "--config="+o.ConfigFile)
	}
	if o.ClientCAFile != "" {
		t.args = append(t.args, "--client-ca-file="+o.ClientCAFile)
	}
	for _, d := range o.PolicyDirs {
		t.args = append(t.args, "--policies="+d)
	}
	t.args = append(t.args, o.ExtraArgs...)
	return t, t.Start(ctx)
}

// Start (re)starts the process with the same ports, certs and flags.
func (t *Tollgate) Start(ctx context.Context) error {
	if t.proc != nil {
		if done, _ := t.proc.Exited(); !done {
			return fmt.Errorf("%s already running (pid %d)", t.opts.Name, t.proc.PID)
		}
	}
	p, err := StartProcess(t.opts.Name, t.opts.Dir, TollgateBin(), t.args, nil)
	if err != nil {
		return err
	}
	t.proc = p
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	probe := "/readyz"
	if t.opts.Unready {
		probe = "/healthz"
	}
	if err := waitHTTP(ctx, p, hc, t.HealthURL+probe, "", 60*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := Poll(waitCtx, 100*time.Millisecond, func(context.Context) (bool, error) {
		_, err := t.ServingCert()
		return err == nil, nil
	}); err != nil {
		p.Stop(5 * time.Second)
		return fmt.Errorf("%s webhook port %d never completed a TLS handshake: %w", t.opts.Name, t.Port, err)
	}
	return nil
}

// Stop stops the process (the certs stay, so Start can bring it back).
func (t *Tollgate) Stop() {
	if t.proc != nil {
		t.proc.Stop(10 * time.Second)
	}
}

// Process is the running tollgate process.
func (t *Tollgate) Process() *Process { return t.proc }

// ServingCert does a TLS handshake with the webhook port, verified against
// the CA, and returns the leaf certificate the server presented.
func (t *Tollgate) ServingCert() (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(t.CA.CertPEM)
	d := &net.Dialer{Timeout: 2 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", t.Port), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w", t.URL, err)
	}
	defer func() { _ = conn.Close() }()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("tls handshake with %s: no certificate", t.URL)
	}
	return certs[0], nil
}

// RotateCert writes a new serving certificate from the same CA into the
// cert dir (key first, by rename) and returns it, so a test can wait for the
// server to present it.
func (t *Tollgate) RotateCert() (*x509.Certificate, error) {
	if err := t.CA.WriteServing(t.CertDir, "tollgate-rotated", []string{"127.0.0.1", "localhost"}); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(t.CertDir, "tls.crt"))
	if err != nil {
		return nil, fmt.Errorf("read rotated cert: %w", err)
	}
	pair, err := tls.X509KeyPair(b, mustRead(filepath.Join(t.CertDir, "tls.key")))
	if err != nil {
		return nil, fmt.Errorf("rotated pair: %w", err)
	}
	return x509.ParseCertificate(pair.Certificate[0])
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}
