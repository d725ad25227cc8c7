package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

// registryCase is one Pod of the registry scene and what should happen.
type registryCase struct {
	name, tag, expect string
	allowed           bool
	// want must appear in the stored image (allowed) or the denial.
	want string
}

// setUpRegistryNamespace creates the demo namespace, labelled for pinning,
// and the pull secret its Pods name: the registry is private.
func (d *demo) setUpRegistryNamespace(ctx context.Context) error {
	s := d.registry
	step("kubectl create namespace %s; kubectl label namespace %s %s=registry; kubectl create secret docker-registry %s …", registryNS, registryNS, registryLabel, pullSecret)
	c := d.cp.APIServer.Client
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: registryNS, Labels: map[string]string{registryLabel: "registry"}}}
	if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", registryNS, err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte(s.reg.User + ":" + s.reg.Password))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: pullSecret},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, s.reg.Host, auth))},
	}
	if _, err := c.CoreV1().Secrets(registryNS).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pull secret: %w", err)
	}
	return nil
}

// runRegistryScene applies Pods naming the registry's images by tag and
// returns how many did not do what the demo says they should.
func (d *demo) runRegistryScene(ctx context.Context) (int, error) {
	s := d.registry
	fmt.Printf("\n==> Registry scene: images from %s in namespace %s are pinned to their digest and must be signed by the demo's cosign key\n", s.reg.Host, registryNS)
	if err := d.waitPinning(ctx); err != nil {
		return 0, err
	}
	mismatches := 0
	for _, c := range []registryCase{
		{name: "signed", tag: signedTag, allowed: true, want: s.image(signedTag) + "@" + s.signed,
			expect: "Allowed: signed by the demo key; the tag is pinned to its digest"},
		{name: "unsigned", tag: unsignedTag, want: "(" + s.unsigned + ") is not signed by any of demo-release",
			expect: "Denied: the image carries no signature"},
	} {
		ok, err := d.registryPod(ctx, c)
		if err != nil {
			return mismatches, err
		}
		if !ok {
			mismatches++
		}
	}
	moved, err := d.moveTag(ctx)
	if err != nil {
		return mismatches, err
	}
	ok, err := d.registryPod(ctx, registryCase{name: "moved", tag: signedTag, want: "(" + moved + ") is not signed by any of demo-release",
		expect: "Denied: the tag now names unsigned content, and the reason names its new digest"})
	if !ok {
		mismatches++
	}
	return mismatches, err
}

// registryPod applies one Pod of the scene by tag, with the pull secret,
// and shows what was stored: the pinned image and Tollgate's annotation.
func (d *demo) registryPod(ctx context.Context, c registryCase) (bool, error) {
	image := d.registry.image(c.tag)
	fmt.Printf("\n==> kubectl apply -f -   (pod %s/%s, image %s, imagePullSecrets %s)\n", registryNS, c.name, image, pullSecret)
	fmt.Printf("    expected: %s\n", c.expect)
	got, stored, err := d.tryPod(ctx, registryPodManifest(c.name, image), registryNS, c.name)
	if err != nil {
		return false, err
	}
	seen := got.denial
	if stored != nil {
		seen = stored.Spec.Containers[0].Image
		fmt.Printf("    stored image: %s\n", seen)
		fmt.Printf("    %s: %s\n", annotationDefaulted, stored.Annotations[annotationDefaulted])
	}
	ok := got.allowed == c.allowed && strings.Contains(seen, c.want)
	if !ok {
		fmt.Printf("    !! this is NOT what should happen (want %q)\n", c.want)
	}
	return ok, nil
}

// moveTag pushes new, unsigned content under the signed tag with crane and
// waits until Tollgate resolves the tag again: resolved tags are reused
// for pinning.tagTTL (5s by default).
func (d *demo) moveTag(ctx context.Context) (string, error) {
	s := d.registry
	moved, err := s.tools.CraneImage(ctx, registryRepo, signedTag, "demo app 1.0, rebuilt and not signed")
	if err != nil {
		return "", err
	}
	fmt.Printf("\n==> crane append -t %s   -> %s (the tag moved; the new content is not signed)\n", s.image(signedTag), moved)
	fmt.Println("    Tollgate reuses a resolved tag for pinning.tagTTL (5s by default); waiting until it resolves the tag again")
	probe := registryPodManifest("moved-probe", s.image(signedTag))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		r := d.kubectl(ctx, probe, "apply", "--dry-run=server", "-f", "-")
		return strings.Contains(r.Stderr, moved), nil
	})
	if err != nil {
		return "", fmt.Errorf("tollgate never resolved %s to its new digest %s: %w", s.image(signedTag), moved, err)
	}
	return moved, nil
}

// waitPinning waits until Tollgate pins a dry-run Pod in the demo
// namespace: its informers must have seen the namespace's label, and the
// namespace needs its default ServiceAccount.
func (d *demo) waitPinning(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	s := d.registry
	probe := registryPodManifest("pin-probe", s.image(signedTag))
	err := harness.Poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		r := d.kubectl(ctx, probe, "apply", "--dry-run=server", "-o", "jsonpath={.spec.containers[0].image}", "-f", "-")
		return r.Err == nil && strings.Contains(r.Stdout, "@"+s.signed), nil
	})
	if err != nil {
		return fmt.Errorf("tollgate never pinned a Pod in namespace %s: %w", registryNS, err)
	}
	return nil
}

func registryPodManifest(name, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: %s}
spec:
  imagePullSecrets: [{name: %s}]
  containers: [{name: app, image: %q}]
`, name, registryNS, pullSecret, image)
}
