package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/tollgate-dev/tollgate/pkg/config"
	"github.com/tollgate-dev/tollgate/test/harness"
)

// The registry scene: a namespace whose images from the loopback registry
// are pinned to their digests and must carry a signature by the demo's
// cosign key.
const (
	registryNS    = "registry-demo"
	registryLabel = "tollgate.dev/demo"
	registryRepo  = "demo/app"
	pullSecret    = "regcred"
	signedTag     = "1.0"
	unsignedTag   = "1.1"
)

// registryScene is the loopback registry, its tools and the digests pushed.
type registryScene struct {
	reg      *harness.Registry
	tools    *harness.RegistryTools
	signed   string // digest of demo/app:1.0, signed
	unsigned string // digest of demo/app:1.1, never signed
}

func (s *registryScene) image(tag string) string { return s.reg.Host + "/" + registryRepo + ":" + tag }

// startRegistry runs the CNCF Distribution registry on loopback (TLS from
// a CA of its own, basic auth), pushes two images with crane and signs one
// with the cosign CLI.
func (d *demo) startRegistry(ctx context.Context) error {
	for what, p := range map[string]string{"registry": harness.RegistryBin(), "crane": harness.CraneBin(), "cosign": harness.CosignBin()} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing at %s; run `make demo`, which builds it", what, p)
		}
	}
	ca, err := harness.NewCA("tollgate demo registry CA")
	if err != nil {
		return err
	}
	dir := filepath.Join(d.cp.Dir, "registry")
	if err := os.MkdirAll(filepath.Join(dir, "tools"), 0o700); err != nil {
		return fmt.Errorf("registry dir: %w", err)
	}
	s := &registryScene{}
	if s.reg, err = harness.StartRegistry(ctx, dir, ca); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	d.registry = s
	step("starting the CNCF Distribution registry %s at https://%s (TLS from a local CA, basic auth user %q)", harness.RegistryVersion, s.reg.Host, s.reg.User)

	step("cosign %s generate-key-pair; crane %s pushes two one-layer images", harness.CosignVersion, harness.CraneVersion)
	if s.tools, err = s.reg.Tools(ctx, filepath.Join(dir, "tools")); err != nil {
		return err
	}
	if s.signed, err = s.tools.CraneImage(ctx, registryRepo, signedTag, "demo app 1.0"); err != nil {
		return err
	}
	fmt.Printf("    crane append -t %s   -> %s\n", s.image(signedTag), s.signed)
	if s.unsigned, err = s.tools.CraneImage(ctx, registryRepo, unsignedTag, "demo app 1.1"); err != nil {
		return err
	}
	fmt.Printf("    crane append -t %s   -> %s\n", s.image(unsignedTag), s.unsigned)
	if err := s.tools.Sign(ctx, registryRepo, s.signed, false); err != nil {
		return err
	}
	fmt.Printf("    cosign sign --key cosign.key %s@%s   (offline: no Rekor, no Fulcio)\n", s.reg.Host+"/"+registryRepo, s.signed)
	fmt.Printf("    %s is left unsigned\n", s.image(unsignedTag))
	return nil
}

// registryConfig is what the demo adds to examples/config.yaml for the
// registry: allow it, contact it (trusting its CA), pin its tags in the
// demo namespace and require the cosign key's signature on its images.
func (s *registryScene) registryConfig() string {
	return fmt.Sprintf(`registries:
  access:
    - {pattern: %[1]q, caFile: %[2]q}
pinning:
  rules:
    - images: [%[1]q]
      namespaceSelector: {matchLabels: {%[3]s: registry}}
verification:
  trust:
    - {name: demo-release, registries: [%[1]q], publicKeyFile: %[4]q}
policies:
  settings:
    allowed-registries:
      parameters:
        registries: [%[1]q]
    require-signature:
      parameters:
        rules: [{registries: [%[1]q], trust: [demo-release]}]
`, s.reg.Host, s.reg.CAFile, registryLabel, filepath.Join(s.tools.Dir, "cosign.pub"))
}

// writeConfig writes examples/config.yaml with the registry additions
// merged in (lists appended) to the demo's directory, checks that
// Tollgate loads it and returns its path.
func (d *demo) writeConfig() (string, error) {
	var base, extra map[string]any
	raw, err := os.ReadFile(filepath.Join(d.examples, "config.yaml"))
	if err != nil {
		return "", fmt.Errorf("read example config: %w", err)
	}
	if err := yaml.Unmarshal(raw, &base); err != nil {
		return "", fmt.Errorf("parse example config: %w", err)
	}
	add := d.registry.registryConfig()
	if err := yaml.Unmarshal([]byte(add), &extra); err != nil {
		return "", fmt.Errorf("parse registry config: %w", err)
	}
	merged, err := yaml.Marshal(merge(base, extra))
	if err != nil {
		return "", fmt.Errorf("render config: %w", err)
	}
	path, err := harness.WriteFile(d.cp.Dir, "config.yaml", "# examples/config.yaml plus the registry scene, written by the demo\n"+string(merged))
	if err != nil {
		return "", err
	}
	if _, err := config.Load(path); err != nil {
		return "", fmt.Errorf("the demo's config does not load: %w", err)
	}
	step("Tollgate's config %s: examples/config.yaml plus, for the registry (lists appended):", path)
	fmt.Print(indent(add, "    "))
	return path, nil
}

// merge adds src into dst: maps merge key by key, lists are appended,
// anything else in src replaces dst's value.
func merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		switch sv := v.(type) {
		case map[string]any:
			dm, _ := dst[k].(map[string]any)
			dst[k] = merge(dm, sv)
		case []any:
			dl, _ := dst[k].([]any)
			dst[k] = append(dl, sv...)
		default:
			dst[k] = v
		}
	}
	return dst
}
