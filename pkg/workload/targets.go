package workload

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// StaticTargets are scale targets read from files (for eval and tests),
// keyed by resource, namespace and name.
type StaticTargets map[string]*Workload

// Workload implements Targets.
func (s StaticTargets) Workload(_ context.Context, resource metav1.GroupVersionResource, namespace, name string) (*Workload, error) {
	return s[resource.Resource+"/"+namespace+"/"+name], nil
}

// Add records a workload under its resource name (deployments, ...).
func (s StaticTargets) Add(w *Workload) {
	s[Resource(w.Kind)+"/"+w.Namespace+"/"+w.Name] = w
}

// Resource is the API resource of a workload kind: Deployment is deployments.
func Resource(kind string) string { return strings.ToLower(kind) + "s" }

// SplitManifests takes the workloads out of a multi-document YAML stream
// (cluster files may hold the objects scale requests are about) and
// returns the other documents unchanged, for the Namespace, LimitRange and
// ResourceQuota reader.
func SplitManifests(data []byte) (rest []byte, targets StaticTargets, err error) {
	targets = StaticTargets{}
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out bytes.Buffer
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out.Bytes(), targets, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read document %d: %w", doc, err)
		}
		var tm metav1.TypeMeta
		if err := sigsyaml.Unmarshal(raw, &tm); err != nil || tm.Kind == KindScale || !Supported(KindOf(tm)) {
			out.WriteString("---\n")
			out.Write(raw) // not ours: the next reader reports what is wrong with it
			continue
		}
		js, err := sigsyaml.YAMLToJSON(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", doc, err)
		}
		w, err := Decode(KindOf(tm), js)
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", doc, err)
		}
		targets.Add(w)
	}
}

// KindOf returns the GroupVersionKind a manifest's TypeMeta names.
func KindOf(tm metav1.TypeMeta) metav1.GroupVersionKind {
	group, version, found := strings.Cut(tm.APIVersion, "/")
	if !found {
		group, version = "", tm.APIVersion
	}
	return metav1.GroupVersionKind{Group: group, Version: version, Kind: tm.Kind}
}
