package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// TestValuesDocumented checks that every value in values.yaml has a comment above it (or sits
// under a commented key, for free-form blocks such as config and securityContext) and has a row
// in the chart README's table.
func TestValuesDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	var walk func(n *yamlv3.Node, prefix string)
	walk = func(n *yamlv3.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + k.Value
			switch {
			case strings.TrimSpace(k.HeadComment) != "":
				documented = append(documented, path)
			case v.Kind == yamlv3.MappingNode && len(v.Content) > 0:
				walk(v, path+".")
			default:
				t.Errorf("values.yaml: %s has no comment above it", path)
			}
		}
	}
	walk(doc.Content[0], "")
	if len(documented) < 20 {
		t.Fatalf("found only %d documented values; is the comment parsing broken?", len(documented))
	}
	for _, p := range documented {
		if !strings.Contains(string(readme), "| `"+p+"` |") {
			t.Errorf("README.md has no table row for `%s`", p)
		}
	}
}
