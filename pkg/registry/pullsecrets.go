package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MaxPullSecrets bounds the pull secrets read for one Pod.
const MaxPullSecrets = 32

// ErrTooManyPullSecrets is a Pod naming more than MaxPullSecrets pull
// secrets: a definitive failure, never a transient one.
var ErrTooManyPullSecrets = errors.New("too many pull secrets")

// PullSecrets builds the keychain of one Pod: its imagePullSecrets and its
// service account's, read one by one with GET (never list or watch) in the
// Pod's namespace. Secrets that do not exist are skipped, as the kubelet
// does. reader should be uncached (controller-runtime's API reader), so no
// informer ever holds the cluster's secrets.
//
// At most MaxPullSecrets distinct secrets are read: each is a GET to the API
// server on the admission path, and a Pod may name thousands.
func PullSecrets(ctx context.Context, reader client.Reader, namespace, serviceAccount string, names []string) (Keychain, error) {
	all := append([]string(nil), names...)
	if serviceAccount != "" {
		var sa corev1.ServiceAccount
		err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: serviceAccount}, &sa)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("read service account %s/%s: %w", namespace, serviceAccount, err)
		default:
			for _, s := range sa.ImagePullSecrets {
				all = append(all, s.Name)
			}
		}
	}
	kc := &keychain{}
	seen := map[string]bool{}
	for _, n := range all {
		if n == "" || seen[n] {
			continue
		}
		if seen[n] = true; len(seen) > MaxPullSecrets {
			return nil, fmt.Errorf("%w: the Pod and service account %s/%s name more than %d", ErrTooManyPullSecrets, namespace, serviceAccount, MaxPullSecrets)
		}
		var s corev1.Secret
		err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: n}, &s)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read pull secret %s/%s: %w", namespace, n, err)
		}
		if err := kc.add(&s); err != nil {
			return nil, fmt.Errorf("pull secret %s/%s: %w", namespace, n, err)
		}
	}
	return kc, nil
}

// keychain matches registry credentials the way the kubelet does: by
// host (a "*." wildcard per label allowed) and then by the longest path prefix.
type keychain struct {
	entries []credEntry
}

type credEntry struct {
	host string // normalised, may hold globs
	path string // repository prefix, "" for the whole registry
	cfg  authn.AuthConfig
}

type dockerConfig struct {
	Auths map[string]authn.AuthConfig `json:"auths"`
}

// add reads a kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secret.
func (k *keychain) add(s *corev1.Secret) error {
	var auths map[string]authn.AuthConfig
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg dockerConfig
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			return fmt.Errorf("%s: %w", corev1.DockerConfigJsonKey, err)
		}
		auths = cfg.Auths
	case corev1.SecretTypeDockercfg:
		if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths); err != nil {
			return fmt.Errorf("%s: %w", corev1.DockerConfigKey, err)
		}
	default:
		return fmt.Errorf("type %q is not %s or %s", s.Type, corev1.SecretTypeDockerConfigJson, corev1.SecretTypeDockercfg)
	}
	for key, cfg := range auths {
		host, p := splitKey(key)
		k.entries = append(k.entries, credEntry{host: host, path: p, cfg: cfg})
	}
	return nil
}

// Resolve implements authn.Keychain.
func (k *keychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := normaliseHost(res.RegistryStr())
	repo := strings.TrimPrefix(strings.TrimPrefix(res.String(), res.RegistryStr()), "/")
	best := -1
	for i, e := range k.entries {
		if !hostMatches(e.host, host) || !pathMatches(e.path, repo) {
			continue
		}
		if best < 0 || len(e.path) > len(k.entries[best].path) {
			best = i
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(k.entries[best].cfg), nil
}

// splitKey turns "https://host:5000/v1/", "host/team" or "*.example.com"
// into a normalised host and a repository prefix.
func splitKey(key string) (string, string) {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, p, _ := strings.Cut(key, "/")
	p = strings.Trim(p, "/")
	if p == "v1" || p == "v2" {
		p = ""
	}
	return normaliseHost(host), p
}

func normaliseHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "docker.io", "registry-1.docker.io", "index.docker.io":
		return "index.docker.io"
	}
	return h
}

// hostMatches compares label by label; a label may be a glob ("*").
func hostMatches(pattern, host string) bool {
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func pathMatches(prefix, repo string) bool {
	return prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/")
}
