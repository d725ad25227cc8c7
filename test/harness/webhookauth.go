package harness

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// WebhookClientAuth is the client certificate every kube-apiserver of a
// control plane presents to webhooks (mutual TLS), as an operator sets it
// up: an AdmissionConfiguration whose webhook plugins name a kubeconfig
// holding the certificate. A Tollgate started with ClientCAFile set to
// CAFile answers only these servers.
type WebhookClientAuth struct {
	CA *CA
	// CAFile is the client CA bundle, for `tollgate serve --client-ca-file`.
	CAFile string
	// CertFile and KeyFile are the API server's client certificate and key.
	CertFile, KeyFile string
	// ConfigFile is the --admission-control-config-file.
	ConfigFile string
}

// writeWebhookClientAuth makes a client CA and certificate in dir/webhook-client
// and the two files the API server reads.
func writeWebhookClientAuth(dir string) (*WebhookClientAuth, error) {
	ca, err := NewCA("tollgate-e2e-webhook-client-ca")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.IssueClient("kube-apiserver-webhook-client")
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, "webhook-client")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("webhook client dir: %w", err)
	}
	a := &WebhookClientAuth{CA: ca, CAFile: filepath.Join(d, "ca.crt"), CertFile: filepath.Join(d, "tls.crt"),
		KeyFile: filepath.Join(d, "tls.key"), ConfigFile: filepath.Join(d, "admission.yaml")}
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{a.CAFile, ca.CertPEM, 0o644}, {a.KeyFile, keyPEM, 0o600}, {a.CertFile, certPEM, 0o644}} {
		if err := writeAtomic(f.path, f.data, f.mode); err != nil {
			return nil, err
		}
	}
	// "*" is the default user: every webhook host (127.0.0.1:<port> in URL
	// mode, <svc>.<ns>.svc behind a Service) gets the certificate.
	kc := clientcmdapi.NewConfig()
	kc.AuthInfos["*"] = &clientcmdapi.AuthInfo{ClientCertificate: a.CertFile, ClientKey: a.KeyFile}
	kubeconfig := filepath.Join(d, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		return nil, fmt.Errorf("write webhook client kubeconfig: %w", err)
	}
	plugin := func(name string) string {
		return fmt.Sprintf(`  - name: %s
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: %q
`, name, kubeconfig)
	}
	cfg := "apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n" +
		plugin("ValidatingAdmissionWebhook") + plugin("MutatingAdmissionWebhook")
	if err := writeAtomic(a.ConfigFile, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	return a, nil
}
