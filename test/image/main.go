// Command image builds Tollgate's container image from bin/tollgate without
// Docker: one layer holding the static binary, the non-root user's passwd
// and group entries and the host's CA bundle, with the user, entrypoint,
// ports and labels the Dockerfile declares (test/chart checks they agree).
// It writes a tarball that `ctr images import` and `docker load` accept.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The runtime contract, as in the Dockerfile.
const (
	user    = "65532:65532"
	caFile  = "/etc/ssl/certs/ca-certificates.crt"
	passwd  = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group   = "root:x:0:\nnonroot:x:65532:\n"
	binPath = "/tollgate"
)

var ports = []string{"9443/tcp", "8080/tcp", "8081/tcp"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := flag.String("binary", "bin/tollgate", "static tollgate binary")
	ref := flag.String("ref", "ghcr.io/tollgate-dev/tollgate:dev", "image reference recorded in the tarball")
	out := flag.String("o", "bin/tollgate-image.tar", "output tarball")
	version := flag.String("version", "dev", "org.opencontainers.image.version")
	commit := flag.String("commit", "unknown", "org.opencontainers.image.revision")
	flag.Parse()
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", *ref, err)
	}
	layer, err := rootfs(*bin)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("add layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Config.User = user
	cfg.Config.Entrypoint = []string{binPath}
	cfg.Config.Cmd = []string{"serve"}
	cfg.Config.Env = []string{"PATH=/", "SSL_CERT_FILE=" + caFile}
	cfg.Config.ExposedPorts = map[string]struct{}{}
	for _, p := range ports {
		cfg.Config.ExposedPorts[p] = struct{}{}
	}
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "tollgate",
		"org.opencontainers.image.description": "Kubernetes admission webhooks: resource defaults, quota headroom and Rego image policies",
		"org.opencontainers.image.source":      "https://github.com/tollgate-dev/tollgate",
		"org.opencontainers.image.version":     *version,
		"org.opencontainers.image.revision":    *commit,
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return fmt.Errorf("set image config: %w", err)
	}
	if err := tarball.WriteToFile(*out, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	d, _ := img.Digest()
	fmt.Printf("image: %s (%s) -> %s\n", tag, d, *out)
	return nil
}

// rootfs is the one layer: the binary, passwd/group, and the CA bundle.
func rootfs(bin string) (v1.Layer, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read binary (run `make build` first): %w", err)
	}
	ca, err := os.ReadFile(caFile)
	if errors.Is(err, os.ErrNotExist) {
		ca = nil // no bundle on this host: the image then trusts only what kubeconfigs carry
	} else if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		path string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte(passwd)},
		{"etc/group", 0o644, []byte(group)},
		{binPath[1:], 0o755, exe},
	}
	if ca != nil {
		files = append(files, struct {
			path string
			mode int64
			data []byte
		}{caFile[1:], 0o644, ca})
	}
	epoch := time.Unix(0, 0) // reproducible: the same binary gives the same digest
	for _, dir := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "home/", "home/nonroot/", "tmp/"} {
		h := &tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}
		if dir == "home/nonroot/" || dir == "tmp/" {
			h.Uid, h.Gid, h.Mode = 65532, 65532, 0o700
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}
