package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// APIServerOptions chooses the admission plugins of one kube-apiserver.
type APIServerOptions struct {
	// Name names the server's log, kubeconfig and etcd prefix.
	Name string
	// LimitRanger enables the in-tree LimitRanger plugin.
	LimitRanger bool
	// NoServiceAccount disables the ServiceAccount admission plugin, for a
	// server that runs without a controller-manager (pods then need no
	// default ServiceAccount).
	NoServiceAccount bool
	// ExtraFlags are appended last, so they win.
	ExtraFlags []string
	// ExtraSANs are more names and addresses for the serving certificate, for
	// clients that reach the server through a forwarder (the node's Pods).
	ExtraSANs []string
}

// APIServer is one running kube-apiserver.
type APIServer struct {
	Name       string
	URL        string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	proc       *Process
}

// Process is the kube-apiserver process.
func (s *APIServer) Process() *Process { return s.proc }

func (cp *ControlPlane) startAPIServer(ctx context.Context, o APIServerOptions) (*APIServer, error) {
	bin, err := binary("kube-apiserver")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cp.Dir, o.Name)
	if err := cp.CA.WriteServing(dir, "kube-apiserver", append([]string{"127.0.0.1", "localhost"}, o.ExtraSANs...)); err != nil {
		return nil, fmt.Errorf("%s serving cert: %w", o.Name, err)
	}
	// Webhooks and quota need these; NamespaceLifecycle keeps deletion sane.
	enable := []string{"NamespaceLifecycle", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"}
	var disable []string
	if o.LimitRanger {
		enable = append(enable, "LimitRanger")
	} else {
		disable = append(disable, "LimitRanger")
	}
	if o.NoServiceAccount {
		disable = append(disable, "ServiceAccount")
	} else {
		enable = append(enable, "ServiceAccount")
	}
	args := []string{
		"--etcd-servers=" + cp.EtcdURL,
		"--etcd-prefix=/registry-" + o.Name, // servers may share one etcd
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--tls-cert-file=" + filepath.Join(dir, "tls.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "tls.key"),
		"--token-auth-file=" + cp.tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + cp.saKeyFile,
		"--service-account-signing-key-file=" + cp.saKeyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none", // a loopback address is not a valid endpoint
		"--enable-admission-plugins=" + strings.Join(enable, ","),
		"--profiling=false",
		"--cert-dir=" + dir,
		"--admission-control-config-file=" + cp.WebhookClient.ConfigFile,
	}
	if len(disable) > 0 {
		args = append(args, "--disable-admission-plugins="+strings.Join(disable, ","))
	}
	args = append(args, o.ExtraFlags...)
	p, err := StartProcess(o.Name, cp.Dir, bin, args, nil)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	if err := waitHTTP(ctx, p, httpClient(cp.CA.CertPEM), url+"/readyz", cp.Token, 90*time.Second); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	s := &APIServer{Name: o.Name, URL: url, Kubeconfig: filepath.Join(cp.Dir, o.Name+".kubeconfig"), proc: p}
	if err := writeKubeconfig(s.Kubeconfig, o.Name, url, cp.CA.CertPEM, cp.Token); err != nil {
		p.Stop(5 * time.Second)
		return nil, err
	}
	s.Config = &rest.Config{Host: url, BearerToken: cp.Token, TLSClientConfig: rest.TLSClientConfig{CAData: cp.CA.CertPEM}, QPS: 200, Burst: 400}
	s.Client, err = kubernetes.NewForConfig(s.Config)
	if err != nil {
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("%s client: %w", o.Name, err)
	}
	return s, nil
}

// writeKubeconfig writes an admin kubeconfig using the static token.
func writeKubeconfig(path, name, server string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return os.Chmod(path, 0o600)
}
