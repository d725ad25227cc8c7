// Command pause writes the local node's sandbox image: one layer holding the
// static pause binary (test/node/pause), run as 65535 like the upstream one.
// containerd's sandbox_image names it, so no Pod ever pulls a public image.
package main

import (
	"archive/tar"
	"bytes"
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

func main() {
	bin := flag.String("binary", "bin/pause", "static pause binary")
	ref := flag.String("ref", "tollgate.local/pause:v1", "image reference recorded in the tarball")
	out := flag.String("o", "bin/pause-image.tar", "output tarball")
	flag.Parse()
	if err := write(*bin, *ref, *out); err != nil {
		fmt.Fprintln(os.Stderr, "pause image:", err)
		os.Exit(1)
	}
}

func write(bin, ref, out string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("read pause binary: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(exe)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	if _, err := tw.Write(exe); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return fmt.Errorf("layer: %w", err)
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
	cfg.Config = v1.Config{User: "65535:65535", Entrypoint: []string{"/pause"}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return fmt.Errorf("set image config: %w", err)
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("pause image: %s -> %s\n", tag, out)
	return nil
}
