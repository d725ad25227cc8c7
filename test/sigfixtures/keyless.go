package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Keyless identity of the fixture's keyless signature, and the file the
// test Sigstore's trusted root is written to.
const (
	KeylessIssuer  = "https://issuer.registry.test"
	KeylessSubject = "release@acme.test"
	TrustedRoot    = "trusted_root.json"
)

// keyless signs legacy.registry.test/app:keyless in the classic layout
// with a short-lived certificate for KeylessSubject from a test Sigstore
// (a Fulcio-like CA and a timestamp authority made in process). cosign
// cannot sign keyless offline (it needs Fulcio), so this one signature is
// written by this program the way cosign writes it: a simple-signing
// payload with signature, certificate and RFC 3161 timestamp annotations.
func (g *gen) keyless() error {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return err
	}
	digest, err := g.push(HostLegacy, "app", "keyless")
	if err != nil {
		return err
	}
	payload := []byte(`{"critical":{"identity":{"docker-reference":"` + HostLegacy + `/app"},"image":{"docker-manifest-digest":"` + digest + `"},"type":"cosign container image signature"},"optional":null}`)
	e, err := vs.Sign(KeylessSubject, KeylessIssuer, payload)
	if err != nil {
		return err
	}
	vc, _ := e.VerificationContent()
	sc, _ := e.SignatureContent()
	ts, _ := e.Timestamps()
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		return err
	}
	tsJSON, _ := json.Marshal(map[string][]byte{"SignedRFC3161Timestamp": ts[0]})
	layer := static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer, Annotations: map[string]string{
		"dev.cosignproject.cosign/signature":   base64.StdEncoding.EncodeToString(sc.Signature()),
		"dev.sigstore.cosign/certificate":      string(certPEM),
		"dev.sigstore.cosign/rfc3161timestamp": string(tsJSON),
	}})
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	ref, err := name.NewTag(g.addr(HostLegacy)+"/app:"+cosignTag(digest, ".sig"), name.Insecure)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img, g.remote(HostLegacy)...); err != nil {
		return fmt.Errorf("push keyless signature: %w", err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), nil)
	if err != nil {
		return err
	}
	g.trustedRoot, err = tr.MarshalJSON()
	return err
}

// writeTrustedRoot writes the test Sigstore's root beside the layout.
func (g *gen) writeTrustedRoot(dir string) error {
	if g.trustedRoot == nil {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, TrustedRoot), g.trustedRoot, 0o644)
}
