//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// The chart's default release (tls.mode=certManager) as a user installs it:
// release "tollgate" in tollgate-system, so every object is named "tollgate".
const (
	cmNS         = "tollgate-system"
	cmRelease    = "tollgate"
	cmSvcDNS     = "tollgate.tollgate-system.svc"
	cmServing    = "tollgate-serving-cert"
	cmServingTLS = "tollgate-serving-cert-tls"
)

// cmScene is a cluster of its own (an API server with aggregator routing on
// the shared etcd), the test cert-manager, and Tollgate in a network
// namespace standing in for the chart's Pod: its certificate and config come
// from the chart's Secret and ConfigMap, projected as the kubelet would, and
// the API server reaches it through the chart's Service and an EndpointSlice.
type cmScene struct {
	api     *harness.APIServer
	netns   *harness.Netns
	tg      *harness.Process
	dir     string
	webhook string // NsIP:9443
}

// TestCertManagerLive installs the chart with default values next to a real
// cert-manager and shows issuance, caBundle injection into both webhook
// configurations, admissions through the chart's Service with the issued
// certificate, a renewal picked up with no restart and no failed admission,
// and an uninstall that never leaves a failing webhook without endpoints.
func TestCertManagerLive(t *testing.T) {
	if ok, why := harness.CanNetns(); !ok {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := startCMScene(t, ctx)
	helmInstallDefault(t, ctx, s)
	ca := waitIssuedAndInjected(t, ctx, s)
	s.startTollgate(t, ctx)
	checkAdmissionsThroughService(t, ctx, s)
	checkRenewal(t, ctx, s, ca)
	checkSafeUninstall(t, ctx, s)
}

func startCMScene(t *testing.T, ctx context.Context) *cmScene {
	t.Helper()
	unguard, err := harness.GuardServiceCIDR(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unguard)
	api, err := env.cp.AddAPIServer(ctx, harness.APIServerOptions{
		Name:             "kube-apiserver-certmanager",
		NoServiceAccount: true, // no controller-manager here, and no Pod of the chart runs
		ExtraFlags:       []string{"--enable-aggregator-routing=true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Process().Stop(15 * time.Second) })
	if err := harness.InstallCertManagerCRDs(ctx, api.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	s := &cmScene{api: api, dir: t.TempDir()}
	cm, err := harness.StartCertManager(env.cp.Dir, api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cm.Stop(10 * time.Second) })
	if s.netns, err = harness.NewNetns(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.netns.Close) // registered after the processes' cleanups: runs once they are stopped
	s.webhook = net.JoinHostPort(s.netns.NsIP, "9443")
	return s
}

func (s *cmScene) kubectl(ctx context.Context, args ...string) harness.Result {
	return harness.Kubectl(ctx, s.api.Kubeconfig, "", args...)
}

func helmInstallDefault(t *testing.T, ctx context.Context, s *cmScene) {
	t.Helper()
	r := harness.Helm(ctx, s.api.Kubeconfig, "install", cmRelease, harness.ChartDir(), "--namespace", cmNS, "--create-namespace")
	if r.Err != nil {
		t.Fatalf("helm install with default values: %v", r.Err)
	}
	t.Logf("helm install (default values):\n%s", strings.TrimSpace(r.Stdout))
}

// waitIssuedAndInjected waits for the chart's Issuers and Certificates to be
// Ready and for both webhook configurations to carry the CA that signed the
// serving certificate; it returns that CA.
func waitIssuedAndInjected(t *testing.T, ctx context.Context, s *cmScene) *x509.CertPool {
	t.Helper()
	begin := time.Now()
	for _, obj := range []string{"issuer/tollgate-selfsigned", "issuer/tollgate-ca", "certificate/tollgate-ca", "certificate/" + cmServing} {
		if r := s.kubectl(ctx, "wait", "-n", cmNS, "--for=condition=Ready", "--timeout=90s", obj); r.Err != nil {
			t.Fatalf("%s never Ready: %v\n%s", obj, r.Err, s.kubectl(ctx, "get", "-n", cmNS, "issuers,certificates,certificaterequests", "-o", "wide").Output())
		}
	}
	t.Logf("issuers and certificates Ready in %s:\n%s", time.Since(begin).Round(time.Millisecond),
		s.kubectl(ctx, "get", "-n", cmNS, "issuers,certificates,certificaterequests").Stdout)
	sec, err := s.api.Client.CoreV1().Secrets(cmNS).Get(ctx, cmServingTLS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	caPEM := sec.Data["ca.crt"]
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("secret %s has no CA in ca.crt", cmServingTLS)
	}
	leaf := parseLeaf(t, sec.Data["tls.crt"])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: cmSvcDNS}); err != nil {
		t.Fatalf("issued certificate does not verify for %s: %v", cmSvcDNS, err)
	}
	eventually(t, "caBundle injected into both webhook configurations", func(ctx context.Context) (bool, string) {
		m, err := s.api.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, cmRelease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		v, err := s.api.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, cmRelease, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		ok := true
		for _, w := range m.Webhooks {
			ok = ok && string(w.ClientConfig.CABundle) == string(caPEM)
			seen = append(seen, fmt.Sprintf("%s: %d bytes", w.Name, len(w.ClientConfig.CABundle)))
		}
		for _, w := range v.Webhooks {
			ok = ok && string(w.ClientConfig.CABundle) == string(caPEM)
			seen = append(seen, fmt.Sprintf("%s: %d bytes", w.Name, len(w.ClientConfig.CABundle)))
		}
		// Every webhook of both configurations, whatever the chart adds.
		return ok && len(m.Webhooks) > 0 && len(v.Webhooks) > 0, strings.Join(seen, ", ")
	})
	t.Logf("caBundle injected (the CA of %s) into %s and %s; serving cert serial %x, DNS names %v",
		cmServingTLS, "MutatingWebhookConfiguration/tollgate", "ValidatingWebhookConfiguration/tollgate", leaf.SerialNumber, leaf.DNSNames)
	return pool
}

func parseLeaf(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM certificate in tls.crt")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("parse tls.crt: %v", err)
	}
	return c
}

// startTollgate runs `tollgate serve` in the network namespace on the
// chart's projected Secret and ConfigMap, and points the chart's Service
// at it with an EndpointSlice, as the endpoint controller would for a Pod.
func (s *cmScene) startTollgate(t *testing.T, ctx context.Context) {
	t.Helper()
	certs, err := harness.ProjectSecret(ctx, s.api.Client, cmNS, cmServingTLS, filepath.Join(s.dir, "certs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(certs.Stop)
	config, err := harness.ProjectConfigMap(ctx, s.api.Client, cmNS, "tollgate-config", filepath.Join(s.dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(config.Stop)
	fwd, err := harness.Forward(s.netns.HostIP, strings.TrimPrefix(s.api.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fwd.Close)
	kubeconfig := filepath.Join(s.dir, "netns.kubeconfig")
	if err := env.cp.KubeconfigVia(kubeconfig, "via-veth", "https://"+fwd.Addr); err != nil {
		t.Fatal(err)
	}
	s.tg, err = s.netns.Start("tollgate-netns", env.cp.Dir, harness.TollgateBin(), []string{"serve",
		"--bind-address=" + s.netns.NsIP, "--port=9443", "--cert-dir=" + certs.Dir,
		"--health-probe-bind-address=" + s.netns.NsIP + ":8081", "--metrics-bind-address=" + s.netns.NsIP + ":8080",
		"--kubeconfig=" + kubeconfig, "--namespace=" + cmNS, "--config=" + filepath.Join(config.Dir, "config.yaml"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.tg.Stop(10 * time.Second) })
	s.waitReady(t, ctx)
	s.publishEndpoint(t, ctx)
}

func (s *cmScene) waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	eventually(t, "tollgate in the network namespace answers /readyz", func(ctx context.Context) (bool, string) {
		if done, err := s.tg.Exited(); done {
			t.Fatalf("tollgate exited: %v\n%s", err, s.tg.Tail(2000))
		}
		r := s.kubectl(ctx, "get", "--raw", "/api") // cheap: proves the API server is up
		if r.Err != nil {
			return false, r.Err.Error()
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.netns.NsIP, "8081"), time.Second)
		if err != nil {
			return false, err.Error()
		}
		_ = c.Close()
		_, err = s.servingSerial(nil)
		return err == nil, errString(err)
	})
}

// publishEndpoint makes the EndpointSlice of the chart's Service, with the
// namespace's address as its one ready endpoint.
func (s *cmScene) publishEndpoint(t *testing.T, ctx context.Context) {
	t.Helper()
	ready := true
	port, name, proto := int32(9443), "webhook", corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "tollgate-netns", Namespace: cmNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: cmRelease, discoveryv1.LabelManagedBy: "tollgate-e2e",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{s.netns.NsIP}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
	}
	if _, err := s.api.Client.DiscoveryV1().EndpointSlices(cmNS).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create EndpointSlice: %v", err)
	}
}

// servingSerial does a TLS handshake with Tollgate as the API server does
// (ServerName the Service's DNS name), verified against roots when given.
func (s *cmScene) servingSerial(roots *x509.CertPool) (string, error) {
	cfg := &tls.Config{ServerName: cmSvcDNS, RootCAs: roots, MinVersion: tls.VersionTLS12, InsecureSkipVerify: roots == nil} //nolint:gosec // nil roots: readiness only
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", s.webhook, cfg)
	if err != nil {
		return "", fmt.Errorf("tls handshake with %s: %w", s.webhook, err)
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16), nil
}
