package scene

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

const serviceDNS = Release + "." + Namespace + ".svc"

// Renewal forces cert-manager to renew the serving certificate while Pod
// creates keep flowing, and waits until both running replicas present the
// new one: the kubelet rewrites the mounted Secret, Tollgate reloads it,
// no Pod restarts and no admission fails.
func (s *Scene) Renewal(ctx context.Context) error {
	pods, err := s.WaitReplicas(ctx, 2)
	if err != nil {
		return err
	}
	roots, err := s.servingCA(ctx)
	if err != nil {
		return err
	}
	before := map[string]string{}
	for _, p := range pods {
		if before[p.Name], err = presented(p, roots); err != nil {
			return err
		}
	}
	loop := s.startAdmitLoop(ctx)
	begin := time.Now()
	if err := s.forceRenewal(ctx); err != nil {
		loop.finish()
		return err
	}
	now := map[string]string{}
	err = s.Eventually(ctx, "both replicas present the renewed certificate", func(ctx context.Context) error {
		for _, p := range pods {
			serial, err := presented(p, roots)
			if err != nil {
				return err
			}
			if serial == before[p.Name] {
				return fmt.Errorf("pod %s still presents serial %s", p.Name, serial)
			}
			now[p.Name] = serial
		}
		return nil
	})
	took := since(begin)
	ok, failed, first := loop.finish()
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d admissions failed during the renewal; first: %v", failed, ok+failed, first)
	}
	after, err := s.WaitReplicas(ctx, 2)
	if err != nil {
		return err
	}
	if err := unchanged(pods, after); err != nil {
		return fmt.Errorf("the renewal: %w", err)
	}
	s.Log("renewal: serving certificate serials %v -> %v, presented by the same Pods %s after the renewal was forced; %d Pod creates admitted meanwhile, 0 failed",
		before, now, took, ok)
	return nil
}

// servingCA is the CA in the issued Secret (the one injected as caBundle).
func (s *Scene) servingCA(ctx context.Context) (*x509.CertPool, error) {
	sec, err := s.API.Client.CoreV1().Secrets(Namespace).Get(ctx, "tollgate-serving-cert-tls", metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("issued secret: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sec.Data["ca.crt"]) {
		return nil, fmt.Errorf("secret tollgate-serving-cert-tls: no CA in ca.crt")
	}
	return pool, nil
}

// presented does the TLS handshake the API server does with one replica
// (ServerName the Service's DNS name, verified against the CA) and returns
// the serial of the certificate it presents.
func presented(p corev1.Pod, roots *x509.CertPool) (string, error) {
	addr := net.JoinHostPort(p.Status.PodIP, "9443")
	cfg := &tls.Config{ServerName: serviceDNS, RootCAs: roots, MinVersion: tls.VersionTLS12}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", fmt.Errorf("pod %s: tls handshake with %s: %w", p.Name, addr, err)
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16), nil
}

// forceRenewal sets the Issuing condition on the serving Certificate, which
// is how cert-manager's own tooling (cmctl renew) asks for a renewal now.
func (s *Scene) forceRenewal(ctx context.Context) error {
	dyn, err := dynamic.NewForConfig(s.API.Config)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	certs := dyn.Resource(schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}).Namespace(Namespace)
	u, err := certs.Get(ctx, "tollgate-serving-cert", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get certificate: %w", err)
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	conds = append(conds, map[string]any{
		"type": "Issuing", "status": "True", "reason": "ManuallyTriggered",
		"message": "renewal forced by the node e2e", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
	})
	if err := unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"); err != nil {
		return fmt.Errorf("set condition: %w", err)
	}
	if _, err := certs.UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("trigger renewal: %w", err)
	}
	return nil
}
