package chart

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// imageConfig is the part of an OCI/Docker image config the Dockerfile sets.
type imageConfig struct {
	Config struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
}

// readImageTarball returns the config of the one image in a `docker save`
// style tarball (manifest.json naming the config file), and its file names.
func readImageTarball(t *testing.T, path string) (imageConfig, []string) {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		// manifest.json and the config blob (named by its digest in
		// go-containerregistry's tarballs); layers are large and not read.
		if h.Size < 1<<20 {
			b, _ := io.ReadAll(tr)
			files[h.Name] = b
		}
	}
	var manifest []struct{ Config string }
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("%s: want one image in manifest.json: %v", path, err)
	}
	var cfg imageConfig
	if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
		t.Fatalf("%s: config %s: %v", path, manifest[0].Config, err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	return cfg, names
}

// TestImageTarballMatchesDockerfile: the image `make image` builds without
// Docker runs as the same user, with the same entrypoint, command, ports and
// labels as the Dockerfile's.
func TestImageTarballMatchesDockerfile(t *testing.T) {
	path := os.Getenv("TOLLGATE_IMAGE_TAR")
	if path == "" {
		t.Skip("set TOLLGATE_IMAGE_TAR (make image-check builds it with `make image`)")
	}
	cfg, _ := readImageTarball(t, path)
	ins := readDockerfile(t)
	last := func(cmd string) string {
		v := ""
		for _, in := range ins {
			if in.cmd == cmd {
				v = in.args
			}
		}
		return v
	}
	if got, want := cfg.Config.User, last("USER"); got != want {
		t.Errorf("user: image %q, Dockerfile %q", got, want)
	}
	var entry, cmd []string
	if err := json.Unmarshal([]byte(last("ENTRYPOINT")), &entry); err != nil {
		t.Fatalf("Dockerfile ENTRYPOINT is not exec form: %v", err)
	}
	if err := json.Unmarshal([]byte(last("CMD")), &cmd); err != nil {
		t.Fatalf("Dockerfile CMD is not exec form: %v", err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, entry) || !slices.Equal(cfg.Config.Cmd, cmd) {
		t.Errorf("entrypoint/cmd: image %q %q, Dockerfile %q %q", cfg.Config.Entrypoint, cfg.Config.Cmd, entry, cmd)
	}
	var wantPorts []string
	for _, p := range strings.Fields(last("EXPOSE")) {
		wantPorts = append(wantPorts, p+"/tcp")
	}
	var gotPorts []string
	for p := range cfg.Config.ExposedPorts {
		gotPorts = append(gotPorts, p)
	}
	slices.Sort(wantPorts)
	slices.Sort(gotPorts)
	if !slices.Equal(gotPorts, wantPorts) {
		t.Errorf("ports: image %v, Dockerfile %v", gotPorts, wantPorts)
	}
	for _, kv := range dockerfileLabels(last("LABEL")) {
		k, v, _ := strings.Cut(kv, "=")
		v = strings.Trim(v, `"`)
		if strings.Contains(v, "${") {
			continue // version and revision are build arguments
		}
		if cfg.Config.Labels[k] != v {
			t.Errorf("label %s: image %q, Dockerfile %q", k, cfg.Config.Labels[k], v)
		}
	}
}

// dockerfileLabels splits `k="v with spaces" k2="v2"` into k="v" items.
func dockerfileLabels(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, `="`)
		if !ok {
			break
		}
		v, after, _ := strings.Cut(rest, `"`)
		out = append(out, k+`="`+v+`"`)
		s = after
	}
	return out
}
