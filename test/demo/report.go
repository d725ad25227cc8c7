package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const annotationDefaulted = "tollgate.dev/defaulted"

// outcome is what a user saw when applying one example.
type outcome struct {
	allowed  bool
	warnings []string
	denial   string
}

// applyPods applies every examples/pods/*.yaml in name order, prints what
// happened and returns how many examples disagreed with their comment.
func (d *demo) applyPods(ctx context.Context) (int, error) {
	files, err := filepath.Glob(filepath.Join(d.examples, "pods", "*.yaml"))
	if err != nil {
		return 0, fmt.Errorf("list example pods: %w", err)
	}
	sort.Strings(files)
	mismatches := 0
	for _, f := range files {
		ok, err := d.applyPod(ctx, f)
		if err != nil {
			return mismatches, err
		}
		if !ok {
			mismatches++
		}
	}
	return mismatches, nil
}

func (d *demo) applyPod(ctx context.Context, file string) (bool, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", file, err)
	}
	expect := firstComment(string(raw))
	var pod corev1.Pod
	if err := yaml.Unmarshal(raw, &pod); err != nil {
		return false, fmt.Errorf("parse %s: %w", file, err)
	}
	fmt.Printf("\n==> kubectl apply -f %s   (pod %s/%s)\n", rel(file), pod.Namespace, pod.Name)
	fmt.Printf("    expected: %s\n", expect)
	got, stored, err := d.tryPod(ctx, string(raw), pod.Namespace, pod.Name)
	if err != nil {
		return false, err
	}
	if stored != nil {
		printResources(stored)
	}
	ok := matches(expect, got)
	if !ok {
		fmt.Println("    !! this is NOT what the example's comment says should happen")
	}
	return ok, nil
}

// tryPod applies a Pod manifest as a user would, prints the verdict, the
// reason of a denial and every warning, and reads the stored Pod back when
// it was allowed.
func (d *demo) tryPod(ctx context.Context, manifest, ns, name string) (outcome, *corev1.Pod, error) {
	r := d.kubectl(ctx, manifest, "apply", "-f", "-")
	got := outcome{allowed: r.Err == nil}
	for _, line := range strings.Split(r.Stderr, "\n") {
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			got.warnings = append(got.warnings, w)
		} else if strings.HasPrefix(line, "Error from server") {
			got.denial = reason(line)
		}
	}
	if !got.allowed && got.denial == "" {
		got.denial = strings.TrimSpace(r.Stderr)
	}
	if got.allowed {
		fmt.Println("    result:   ALLOWED (the Pod was stored)")
	} else {
		fmt.Println("    result:   DENIED")
		fmt.Printf("    reason:   %s\n", got.denial)
	}
	for _, w := range got.warnings {
		fmt.Printf("    warning:  %s\n", w)
	}
	if !got.allowed {
		return got, nil, nil
	}
	stored, err := d.pod(ctx, ns, name)
	if err != nil {
		return got, nil, fmt.Errorf("read back %s/%s: %w", ns, name, err)
	}
	return got, stored, nil
}

// printResources shows the stored resources and what Tollgate says it set.
func printResources(p *corev1.Pod) {
	show := func(kind string, cs []corev1.Container) {
		for _, c := range cs {
			fmt.Printf("    %s %q: requests %s; limits %s\n", kind, c.Name, list(c.Resources.Requests), list(c.Resources.Limits))
		}
	}
	show("init container", p.Spec.InitContainers)
	show("container", p.Spec.Containers)
	if v, ok := p.Annotations[annotationDefaulted]; ok {
		fmt.Printf("    defaults injected by Tollgate (%s): %s\n", annotationDefaulted, v)
	} else {
		fmt.Println("    Tollgate injected no defaults (nothing was missing, or nothing applies here)")
	}
}

func list(rl corev1.ResourceList) string {
	if len(rl) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(rl))
	for k := range rl {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		q := rl[corev1.ResourceName(k)]
		parts[i] = k + "=" + q.String()
	}
	return strings.Join(parts, " ")
}

// reason strips kubectl's prefix down to the webhook's own words.
func reason(line string) string {
	if _, after, ok := strings.Cut(line, "denied the request: "); ok {
		return after
	}
	if i := strings.Index(line, "is forbidden: "); i >= 0 {
		return line[i+len("is forbidden: "):]
	}
	return line
}

// matches compares an outcome with the example's comment, which starts
// with "Allowed:", "Allowed with a warning:" or "Denied:".
func matches(expect string, got outcome) bool {
	e := strings.ToLower(expect)
	switch {
	case strings.HasPrefix(e, "allowed with a warning"):
		return got.allowed && len(got.warnings) > 0
	case strings.HasPrefix(e, "allowed"):
		return got.allowed
	case strings.HasPrefix(e, "denied"):
		return !got.allowed
	}
	return true // no machine-readable expectation
}

func firstComment(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if c, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "#"); ok {
			return strings.TrimSpace(c)
		}
	}
	return "(no comment)"
}
