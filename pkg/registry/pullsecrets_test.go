package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func dockerSecret(name, key, user string) *corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":pw"))
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + key + `":{"auth":"` + auth + `"}}}`)},
	}
}

func TestPullSecretsReadsThePodsAndItsServiceAccountsSecrets(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "from-sa"}}}
	reader := fake.NewClientBuilder().WithObjects(sa,
		dockerSecret("from-pod", "https://reg.example:5000/v1/", "pod-user"),
		dockerSecret("from-sa", "other.example/team", "sa-user"),
		dockerSecret("elsewhere", "third.example", "unused"),
	).Build()
	kc, err := PullSecrets(context.Background(), reader, "ns", "builder", []string{"from-pod", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		"reg.example:5000/app":      "pod-user",
		"other.example/team/app":    "sa-user",
		"other.example/elsewhere/x": "",
		"third.example/app":         "", // a secret neither the Pod nor its account names
	} {
		repo, err := name.NewRepository(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if cfg.Auth != "" {
			raw, _ := base64.StdEncoding.DecodeString(cfg.Auth)
			got = string(raw[:len(raw)-len(":pw")])
		}
		if got != want {
			t.Errorf("%s: user %q, want %q", ref, got, want)
		}
	}
}

func TestPullSecretOfAnotherTypeIsAnError(t *testing.T) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "opaque"}, Type: corev1.SecretTypeOpaque}
	reader := fake.NewClientBuilder().WithObjects(s).Build()
	if _, err := PullSecrets(context.Background(), reader, "ns", "", []string{"opaque"}); err == nil {
		t.Fatal("no error for an Opaque secret named as a pull secret")
	}
}

// countingReader counts the GETs a keychain build makes.
type countingReader struct {
	client.Reader
	gets int
}

func (r *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	r.gets++
	return r.Reader.Get(ctx, key, obj, opts...)
}

// TestTooManyPullSecretsIsRefusedEarly: a Pod naming thousands of pull
// secrets costs at most MaxPullSecrets+1 GETs and a definitive error.
func TestTooManyPullSecretsIsRefusedEarly(t *testing.T) {
	names := make([]string, 5000)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	reader := &countingReader{Reader: fake.NewClientBuilder().Build()}
	_, err := PullSecrets(context.Background(), reader, "ns", "default", names)
	if !errors.Is(err, ErrTooManyPullSecrets) || IsTransient(err) {
		t.Fatalf("err = %v, want ErrTooManyPullSecrets, not transient", err)
	}
	if reader.gets > MaxPullSecrets+1 {
		t.Errorf("%d GETs, want at most %d", reader.gets, MaxPullSecrets+1)
	}
	if _, err := PullSecrets(context.Background(), reader, "ns", "default", names[:MaxPullSecrets]); err != nil {
		t.Errorf("%d secrets refused: %v", MaxPullSecrets, err)
	}
}
