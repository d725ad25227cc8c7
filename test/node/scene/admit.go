package scene

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tollgate-dev/tollgate/test/harness"
)

const annotationDefaulted = "tollgate.dev/defaulted"

// Outcome is what kubectl showed for one Pod.
type Outcome struct {
	Allowed  bool
	Warnings []string
	Denial   string
	Pod      corev1.Pod // as stored (or as it would be, for a dry run)
}

func (o Outcome) String() string {
	if !o.Allowed {
		return "DENIED: " + o.Denial
	}
	s := "ALLOWED"
	if d := o.Pod.Annotations[annotationDefaulted]; d != "" {
		s += ", defaulted by Tollgate (" + d + ")"
	}
	if len(o.Warnings) > 0 {
		s += ", warnings: " + strings.Join(o.Warnings, " | ")
	}
	return s
}

// Apply sends a Pod manifest through kubectl (server-side dry run when dry,
// which runs every admission webhook but stores nothing and so starts no
// container), and reports what the user saw.
func (s *Scene) Apply(ctx context.Context, manifest string, dry bool) (Outcome, error) {
	args := []string{"create", "-o", "json", "-f", "-"}
	if dry {
		args = append(args, "--dry-run=server")
	}
	r := harness.Kubectl(ctx, s.API.Kubeconfig, manifest, args...)
	o := Outcome{Allowed: r.Err == nil}
	for _, line := range strings.Split(r.Stderr, "\n") {
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			o.Warnings = append(o.Warnings, w)
		} else if _, after, ok := strings.Cut(line, "denied the request: "); ok {
			o.Denial = after
		}
	}
	if !o.Allowed {
		if o.Denial == "" {
			return o, fmt.Errorf("kubectl create: not a webhook's answer: %w", r.Err)
		}
		return o, nil
	}
	if err := json.Unmarshal([]byte(r.Stdout), &o.Pod); err != nil {
		return o, fmt.Errorf("parse created pod: %w", err)
	}
	return o, nil
}

// ApplySceneFiles applies the examples' Namespaces, LimitRanges and
// ResourceQuotas (no Pods).
func (s *Scene) ApplySceneFiles(ctx context.Context) error {
	for _, f := range []string{"namespaces.yaml", "limitranges.yaml", "resourcequotas.yaml"} {
		if r := s.Kubectl(ctx, "apply", "-f", filepath.Join(s.examples, f)); r.Err != nil {
			return r.Err
		}
	}
	s.Log("kubectl apply -f examples/{namespaces,limitranges,resourcequotas}.yaml")
	return nil
}

// Example reads one examples/pods file: its manifest and the first-line
// comment saying what should happen.
func (s *Scene) Example(name string) (manifest, expect string, err error) {
	raw, err := os.ReadFile(filepath.Join(s.examples, "pods", name))
	if err != nil {
		return "", "", fmt.Errorf("read example: %w", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	return string(raw), strings.TrimSpace(strings.TrimPrefix(first, "#")), nil
}

// Eventually retries check until it returns nil (Tollgate's caches and a
// reloaded config take a moment to arrive) or a minute passes.
func (s *Scene) Eventually(ctx context.Context, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last error
	err := harness.Poll(ctx, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		last = check(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("%s: %v (%w)", what, last, err)
	}
	return nil
}

// AdmitWithDefaults shows, with the chart's default config, a Pod mutated
// (LimitRange defaults filled by Tollgate, the in-tree LimitRanger being
// off) and a Pod denied, both by the API server calling the chart's Service.
func (s *Scene) AdmitWithDefaults(ctx context.Context) error {
	if err := s.ApplySceneFiles(ctx); err != nil {
		return err
	}
	mutated, _, err := s.Example("02-limitrange-defaults.yaml")
	if err != nil {
		return err
	}
	if err := s.Eventually(ctx, "examples/pods/02 defaulted through the Service", func(ctx context.Context) error {
		o, err := s.Apply(ctx, mutated, true)
		if err != nil || !o.Allowed || o.Pod.Annotations[annotationDefaulted] == "" {
			return fmt.Errorf("%v, %v", o, err)
		}
		s.Log("kubectl create --dry-run=server -f examples/pods/02-limitrange-defaults.yaml: %s; container api: %s", o, resources(o.Pod.Spec.Containers[0]))
		return nil
	}); err != nil {
		return err
	}
	big, expect, err := s.Example("03-limitrange-too-big.yaml")
	if err != nil {
		return err
	}
	o, err := s.Apply(ctx, big, false)
	if err != nil {
		return err
	}
	if o.Allowed || !strings.Contains(o.Denial, "cpu") {
		return fmt.Errorf("examples/pods/03 (%s): want a denial by Tollgate, got %s", expect, o)
	}
	s.Log("kubectl create -f examples/pods/03-limitrange-too-big.yaml (expected: %s)\n    %s", expect, o)
	return nil
}

func resources(c corev1.Container) string {
	list := func(rl corev1.ResourceList) string {
		var parts []string
		for k, q := range rl {
			parts = append(parts, string(k)+"="+q.String())
		}
		sort.Strings(parts)
		return strings.Join(parts, " ")
	}
	return fmt.Sprintf("requests %s; limits %s", list(c.Resources.Requests), list(c.Resources.Limits))
}
