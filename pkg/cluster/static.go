// Package cluster provides the facts decisions need (Namespaces, LimitRanges,
// ResourceQuotas): from the manager's cache when serving, or from YAML files
// for `tollgate eval`, `tollgate test` and the fixture tests.
package cluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// Static holds facts read from files. It is read-only once built.
type Static struct {
	namespaces  map[string]*corev1.Namespace
	limitRanges map[string][]corev1.LimitRange
	quotas      map[string][]corev1.ResourceQuota
}

// NewStatic returns empty facts.
func NewStatic() *Static {
	return &Static{
		namespaces:  map[string]*corev1.Namespace{},
		limitRanges: map[string][]corev1.LimitRange{},
		quotas:      map[string][]corev1.ResourceQuota{},
	}
}

// typeMeta is enough of an object to know what it is.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Items      []any  `json:"items"`
}

// AddYAML reads a multi-document YAML stream of Namespaces, LimitRanges and
// ResourceQuotas (or a v1 List of them). source names the file in errors.
func (s *Static) AddYAML(data []byte, source string) error {
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: read document %d: %w", source, doc, err)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		if err := s.addDocument(raw); err != nil {
			return fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
	}
}

func (s *Static) addDocument(raw []byte) error {
	var tm typeMeta
	if err := sigsyaml.Unmarshal(raw, &tm); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if tm.APIVersion != "v1" {
		return fmt.Errorf("apiVersion %q kind %q: want v1 Namespace, LimitRange, ResourceQuota or List", tm.APIVersion, tm.Kind)
	}
	switch tm.Kind {
	case "List":
		for i, item := range tm.Items {
			b, err := sigsyaml.Marshal(item)
			if err != nil {
				return fmt.Errorf("items[%d]: %w", i, err)
			}
			if err := s.addDocument(b); err != nil {
				return fmt.Errorf("items[%d]: %w", i, err)
			}
		}
	case "Namespace":
		var ns corev1.Namespace
		if err := sigsyaml.UnmarshalStrict(raw, &ns); err != nil {
			return fmt.Errorf("decode Namespace: %w", err)
		}
		s.AddNamespace(&ns)
	case "LimitRange":
		var lr corev1.LimitRange
		if err := sigsyaml.UnmarshalStrict(raw, &lr); err != nil {
			return fmt.Errorf("decode LimitRange: %w", err)
		}
		if lr.Namespace == "" {
			return fmt.Errorf("LimitRange %q has no metadata.namespace", lr.Name)
		}
		s.limitRanges[lr.Namespace] = append(s.limitRanges[lr.Namespace], lr)
		sort.SliceStable(s.limitRanges[lr.Namespace], func(i, j int) bool {
			return s.limitRanges[lr.Namespace][i].Name < s.limitRanges[lr.Namespace][j].Name
		})
	case "ResourceQuota":
		var q corev1.ResourceQuota
		if err := sigsyaml.UnmarshalStrict(raw, &q); err != nil {
			return fmt.Errorf("decode ResourceQuota: %w", err)
		}
		if q.Namespace == "" {
			return fmt.Errorf("ResourceQuota %q has no metadata.namespace", q.Name)
		}
		s.quotas[q.Namespace] = append(s.quotas[q.Namespace], q)
		sort.SliceStable(s.quotas[q.Namespace], func(i, j int) bool {
			return s.quotas[q.Namespace][i].Name < s.quotas[q.Namespace][j].Name
		})
	default:
		return fmt.Errorf("kind %q: want Namespace, LimitRange, ResourceQuota or List", tm.Kind)
	}
	return nil
}

// AddNamespace records a namespace, replacing one of the same name.
func (s *Static) AddNamespace(ns *corev1.Namespace) { s.namespaces[ns.Name] = ns }

// Namespace implements pipeline.Facts.
func (s *Static) Namespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := s.namespaces[name]; ok {
		return ns.DeepCopy(), nil
	}
	return nil, nil
}

// LimitRanges implements pipeline.Facts.
func (s *Static) LimitRanges(_ context.Context, namespace string) ([]corev1.LimitRange, error) {
	out := make([]corev1.LimitRange, 0, len(s.limitRanges[namespace]))
	for _, lr := range s.limitRanges[namespace] {
		out = append(out, *lr.DeepCopy())
	}
	return out, nil
}

// Quotas implements pipeline.Facts.
func (s *Static) Quotas(_ context.Context, namespace string) ([]corev1.ResourceQuota, error) {
	out := make([]corev1.ResourceQuota, 0, len(s.quotas[namespace]))
	for _, q := range s.quotas[namespace] {
		out = append(out, *q.DeepCopy())
	}
	return out, nil
}

// stripComments drops YAML comment-only lines, so a document of comments is empty.
func stripComments(b []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}
