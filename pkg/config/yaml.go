package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// maxYAMLNodes bounds the nodes one file may expand to, aliases included,
// so a file of nested aliases cannot blow up into gigabytes.
const maxYAMLNodes = 1 << 18

// decodeStrict reads a YAML 1.2 document into v, refusing unknown fields.
// YAML 1.2 on purpose: under YAML 1.1 (sigs.k8s.io/yaml) an unquoted
// `mode: off` is the boolean false, and a file that reads as English is
// refused. Here only true and false are booleans; off, no, yes are strings.
// The document goes through JSON so that Kubernetes types (quantities,
// label selectors) decode with their own rules.
func decodeStrict(data []byte, v any) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return errors.New("no YAML document")
	}
	budget := maxYAMLNodes
	val, err := plain(doc.Content[0], &budget)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(val)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", trimJSONPrefix(err.Error()))
	}
	return nil
}

// leadingZero is a YAML 1.2 decimal such as 012 (yaml.v3 would read it as
// the YAML 1.1 octal 10).
var leadingZero = regexp.MustCompile(`^[-+]?0[0-9]+$`)

// plain turns a YAML node into the values encoding/json writes.
func plain(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("document expands to more than %d nodes", maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return plain(n.Alias, budget)
	case yaml.DocumentNode:
		return plain(n.Content[0], budget)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := plain(c, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return mapping(n, budget)
	}
	return scalar(n)
}

func mapping(n *yaml.Node, budget *int) (any, error) {
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!int") {
			return nil, fmt.Errorf("line %d: a mapping key must be a string", k.Line)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: mapping key %q already defined", k.Line, k.Value)
		}
		if k.Value == "<<" {
			return nil, fmt.Errorf("line %d: merge keys (<<) are not supported", k.Line)
		}
		val, err := plain(v, budget)
		if err != nil {
			return nil, err
		}
		out[k.Value] = val
	}
	return out, nil
}

func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE", nil
	case "!!int":
		if leadingZero.MatchString(n.Value) {
			i, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n.Line, err)
			}
			return i, nil
		}
		var i any
		if err := n.Decode(&i); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return i, nil
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q is not a number JSON can hold", n.Line, n.Value)
		}
		return f, nil
	}
	// Strings, and timestamps kept as written.
	return n.Value, nil
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
