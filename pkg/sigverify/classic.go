package sigverify

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/tollgate-dev/tollgate/pkg/provenance"
)

// classicSig is one layer of a cosign sha256-<hex>.sig manifest: a
// simple-signing payload and what the layer's annotations carry.
type classicSig struct {
	layer       string
	payload     []byte
	signature   []byte
	cert        *x509.Certificate
	chain       []*x509.Certificate
	tlogEntries []*tlog.Entry
	timestamps  [][]byte
}

// classicSignatures reads the classic signature manifest under tag.
func classicSignatures(ctx context.Context, reg Registry, repo, tag string) ([]artifact, error) {
	m, err := reg.Manifest(ctx, repo, tag)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signature tag %s: %w", tag, err)
	}
	var man v1.Manifest
	if err := json.Unmarshal(m.Raw, &man); err != nil {
		return []artifact{{source: SourceTag, manifest: m.Digest, malformed: "signature manifest is not an image manifest"}}, nil
	}
	var out []artifact
	for _, l := range man.Layers {
		if string(l.MediaType) != mediaSimpleSigning {
			continue
		}
		if len(out) == maxArtifacts {
			break
		}
		a := artifact{source: SourceTag, manifest: m.Digest}
		payload, err := reg.Blob(ctx, repo, l.Digest.String(), maxBlobBytes)
		if err != nil {
			return out, fmt.Errorf("signature payload %s: %w", l.Digest, err)
		}
		a.classic, err = parseClassic(l.Digest.String(), payload, l.Annotations)
		if err != nil {
			a.classic, a.malformed = &classicSig{layer: l.Digest.String()}, provenance.OneLine(err.Error())
		}
		out = append(out, a)
	}
	return out, nil
}

func parseClassic(layer string, payload []byte, ann map[string]string) (*classicSig, error) {
	c := &classicSig{layer: layer, payload: payload}
	var err error
	if c.signature, err = base64.StdEncoding.DecodeString(ann[annSignature]); err != nil || len(c.signature) == 0 {
		return nil, errors.New("layer has no valid " + annSignature + " annotation")
	}
	if pem := ann[annCertificate]; pem != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pem))
		if err != nil || len(certs) != 1 {
			return nil, errors.New("certificate annotation is not one PEM certificate")
		}
		c.cert = certs[0]
		if chain := ann[annChain]; chain != "" {
			if c.chain, err = cryptoutils.UnmarshalCertificatesFromPEM([]byte(chain)); err != nil {
				return nil, fmt.Errorf("chain annotation: %w", err)
			}
		}
	}
	if rb := ann[annRekorBundle]; rb != "" {
		e, err := parseRekorBundle([]byte(rb))
		if err != nil {
			return nil, fmt.Errorf("rekor bundle annotation: %w", err)
		}
		c.tlogEntries = append(c.tlogEntries, e)
	}
	if ts := ann[annTimestamp]; ts != "" {
		var tsb struct{ SignedRFC3161Timestamp []byte }
		if err := json.Unmarshal([]byte(ts), &tsb); err != nil || len(tsb.SignedRFC3161Timestamp) == 0 {
			return nil, errors.New("timestamp annotation is not an RFC 3161 timestamp bundle")
		}
		c.timestamps = append(c.timestamps, tsb.SignedRFC3161Timestamp)
	}
	return c, nil
}

// parseRekorBundle reads cosign's offline Rekor proof (a signed entry
// timestamp over the entry).
func parseRekorBundle(raw []byte) (*tlog.Entry, error) {
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              struct {
			Body           string `json:"body"`
			IntegratedTime int64  `json:"integratedTime"`
			LogIndex       int64  `json:"logIndex"`
			LogID          string `json:"logID"`
		}
	}
	if err := json.Unmarshal(raw, &rb); err != nil {
		return nil, err
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	logID, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("logID: %w", err)
	}
	return tlog.NewEntry(body, rb.Payload.IntegratedTime, rb.Payload.LogIndex, logID, rb.SignedEntryTimestamp, nil)
}

// simpleSigning is the part of the payload that binds it to an image.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// checkBinding requires the payload to be a cosign image signature naming
// exactly digest.
func (c *classicSig) checkBinding(digest string) error {
	var p simpleSigning
	if err := json.Unmarshal(c.payload, &p); err != nil {
		return fmt.Errorf("payload is not simple-signing JSON: %w", err)
	}
	if p.Critical.Type != simpleSigningType {
		return fmt.Errorf("payload type %q is not %q", p.Critical.Type, simpleSigningType)
	}
	if got := p.Critical.Image.DockerManifestDigest; got != digest {
		return fmt.Errorf("payload signs %s, not this image", got)
	}
	return nil
}

// classicEntity presents a classic signature to sigstore-go, which then
// checks key or certificate chain, identity, log entries and timestamps the
// same way as for bundles.
type classicEntity struct{ c *classicSig }

var _ verify.SignedEntity = classicEntity{}

func (e classicEntity) HasInclusionPromise() bool { return len(e.c.tlogEntries) > 0 }
func (e classicEntity) HasInclusionProof() bool   { return false }
func (e classicEntity) Timestamps() ([][]byte, error) {
	return e.c.timestamps, nil
}
func (e classicEntity) TlogEntries() ([]*tlog.Entry, error) { return e.c.tlogEntries, nil }

// Version "v0.1" is the bundle version whose rules (inclusion promise
// enough, no proof) match what classic signatures carry.
func (e classicEntity) Version() (string, error) { return "v0.1", nil }

func (e classicEntity) SignatureContent() (verify.SignatureContent, error) {
	sum := sha256.Sum256(e.c.payload)
	return bundle.NewMessageSignature(sum[:], "SHA2_256", e.c.signature), nil
}

func (e classicEntity) VerificationContent() (verify.VerificationContent, error) {
	if e.c.cert != nil {
		return certContent{cert: e.c.cert, intermediates: e.c.chain}, nil
	}
	return keyContent{}, nil
}

// keyContent: the signature names no key; the trust's single key is tried.
type keyContent struct{}

func (keyContent) Hint() string { return "" }
func (keyContent) CompareKey(key any, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	if err != nil {
		return false
	}
	pub, err := v.PublicKey()
	if err != nil {
		return false
	}
	return cryptoutils.EqualKeys(key, pub) == nil
}
func (keyContent) ValidAtTime(t time.Time, tm root.TrustedMaterial) bool {
	v, err := tm.PublicKeyVerifier("")
	return err == nil && v.ValidAtTime(t)
}
func (keyContent) Certificate() *x509.Certificate        { return nil }
func (keyContent) Intermediates() []*x509.Certificate    { return nil }
func (k keyContent) PublicKey() verify.PublicKeyProvider { return k }

type certContent struct {
	cert          *x509.Certificate
	intermediates []*x509.Certificate
}

func (c certContent) CompareKey(key any, _ root.TrustedMaterial) bool {
	k, ok := key.(*x509.Certificate)
	return ok && c.cert.Equal(k)
}
func (c certContent) ValidAtTime(t time.Time, _ root.TrustedMaterial) bool {
	return !t.Before(c.cert.NotBefore) && !t.After(c.cert.NotAfter)
}
func (c certContent) Certificate() *x509.Certificate      { return c.cert }
func (c certContent) Intermediates() []*x509.Certificate  { return c.intermediates }
func (c certContent) PublicKey() verify.PublicKeyProvider { return nil }
