package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Versions of the CLI tools make/tools.mk builds.
const (
	CraneVersion  = "v0.22.1"
	CosignVersion = "v3.1.3"
)

// CraneBin and CosignBin are the binaries built by `make crane cosign`.
func CraneBin() string  { return toolBin("TOLLGATE_CRANE_BIN", "crane", CraneVersion) }
func CosignBin() string { return toolBin("TOLLGATE_COSIGN_BIN", "cosign", CosignVersion) }

func toolBin(env, name, version string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	return filepath.Join(CacheDir(), "tools", name+"-"+version, name)
}

// RegistryTools runs the real crane and cosign CLIs against a test
// registry: its credentials in a docker config of their own, its CA
// trusted, a cosign key pair ("cosign.key", "cosign.pub") in Dir, and no
// other network (cosign never reaches Rekor, Fulcio or TUF).
type RegistryTools struct {
	Dir string
	reg *Registry
	env []string
}

// Tools prepares dir for r's tools and makes a cosign key pair there.
func (r *Registry) Tools(ctx context.Context, dir string) (*RegistryTools, error) {
	for _, bin := range []struct{ name, path string }{{"crane", CraneBin()}, {"cosign", CosignBin()}} {
		if err := mustExist(bin.name, bin.path, "make "+bin.name); err != nil {
			return nil, err
		}
	}
	auth := base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.Host, auth)
	if _, err := WriteFile(dir, "config.json", cfg); err != nil {
		return nil, err
	}
	caFile, err := WriteFile(dir, "registry-ca.crt", string(r.CAPEM))
	if err != nil {
		return nil, err
	}
	t := &RegistryTools{Dir: dir, reg: r, env: []string{
		"HOME=" + dir, "DOCKER_CONFIG=" + dir, "SSL_CERT_FILE=" + caFile, "COSIGN_PASSWORD=", "COSIGN_YES=true",
		"TUF_ROOT=" + filepath.Join(dir, "tuf"), "PATH=" + os.Getenv("PATH"),
	}}
	if _, err := t.run(ctx, CosignBin(), "generate-key-pair"); err != nil {
		return nil, err
	}
	return t, nil
}

// run runs a tool in Dir and returns its standard output.
func (t *RegistryTools) run(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = t.Dir, t.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// CraneImage pushes a one-layer image holding content under repo:tag with
// `crane append` and returns its digest (`crane digest`).
func (t *RegistryTools) CraneImage(ctx context.Context, repo, tag, content string) (string, error) {
	layer := filepath.Join(t.Dir, "layer-"+tag+".tar")
	if err := writeTar(layer, "content.txt", content); err != nil {
		return "", err
	}
	ref := t.reg.Host + "/" + repo + ":" + tag
	if _, err := t.run(ctx, CraneBin(), "append", "--oci-empty-base", "-f", layer, "-t", ref); err != nil {
		return "", err
	}
	return t.run(ctx, CraneBin(), "digest", ref)
}

// Sign signs repo@digest with the key pair, offline: a Sigstore bundle
// (on Distribution, under the fallback referrers tag) or, with classic,
// the sha256-<hex>.sig layout.
func (t *RegistryTools) Sign(ctx context.Context, repo, digest string, classic bool) error {
	args := []string{"sign", "--key", "cosign.key", "--use-signing-config=false", "--tlog-upload=false",
		"--registry-cacert", "registry-ca.crt", "-y"}
	if classic {
		args = append(args, "--new-bundle-format=false")
	}
	_, err := t.run(ctx, CosignBin(), append(args, t.reg.Host+"/"+repo+"@"+digest)...)
	return err
}

func writeTar(path, name, content string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content))}); err != nil {
		return err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
