package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// jsonValue turns one JSON document into a Rego value in a single pass
// over its bytes. It gives exactly what OPA's own path gives
// (util.UnmarshalJSON into Go values, then ast.InterfaceToValue): numbers
// kept as written, the last of duplicate keys wins, strings unescaped and
// invalid UTF-8 replaced as encoding/json does. FuzzJSONValue checks that
// against OPA on arbitrary bytes.
//
// Why it exists: for a Pod as the API server sent it, OPA's path decodes
// every node into a Go value and then converts it; this builds the Rego
// value directly, which measured ~20% of a validating review's CPU
// (docs/performance.md).
//
// The bytes are checked with json.Valid first, so the walk below only
// reads well-formed JSON and never has to report a syntax error itself.
func jsonValue(data []byte) (v ast.Value, err error) {
	if !json.Valid(data) {
		return nil, errors.New("not a valid JSON document")
	}
	defer func() { // unreachable on valid JSON; an error, never a crash
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("convert JSON: %v", r)
		}
	}()
	w := walker{data: data, text: string(data)}
	return w.value()
}

// walker reads one well-formed JSON document from data, at pos. Strings
// and numbers are slices of text, one copy of data, and terms come from
// slabs: a few allocations per document instead of one per node.
type walker struct {
	data  []byte
	text  string
	pos   int
	terms []ast.Term
}

// term wraps v in a Term from the current slab.
func (w *walker) term(v ast.Value) *ast.Term {
	if len(w.terms) == 0 {
		w.terms = make([]ast.Term, 64)
	}
	t := &w.terms[0]
	w.terms = w.terms[1:]
	t.Value = v
	return t
}

func (w *walker) skipSpace() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) value() (ast.Value, error) {
	w.skipSpace()
	switch c := w.data[w.pos]; {
	case c == '{':
		return w.object()
	case c == '[':
		return w.array()
	case c == '"':
		s, err := w.str()
		return ast.String(s), err
	case c == 't':
		w.pos += len("true")
		return ast.Boolean(true), nil
	case c == 'f':
		w.pos += len("false")
		return ast.Boolean(false), nil
	case c == 'n':
		w.pos += len("null")
		return ast.Null{}, nil
	default:
		return w.number()
	}
}

func (w *walker) object() (ast.Value, error) {
	w.pos++ // {
	var items [][2]*ast.Term
	for {
		w.skipSpace()
		switch w.data[w.pos] {
		case '}':
			w.pos++
			return newObject(items), nil
		case ',':
			w.pos++
			w.skipSpace()
		}
		key, err := w.str()
		if err != nil {
			return nil, err
		}
		w.skipSpace()
		w.pos++ // :
		val, err := w.value()
		if err != nil {
			return nil, err
		}
		items = append(items, [2]*ast.Term{w.term(ast.InternedValue(key)), w.term(val)})
	}
}

// newObject builds an object in one go; with a duplicate key (which
// ast.NewObject does not expect) the last one wins, as in encoding/json.
func newObject(items [][2]*ast.Term) ast.Object {
	if !hasDuplicateKey(items) {
		return ast.NewObject(items...)
	}
	obj := ast.NewObjectWithCapacity(len(items))
	for _, kv := range items {
		obj.Insert(kv[0], kv[1])
	}
	return obj
}

func hasDuplicateKey(items [][2]*ast.Term) bool {
	if len(items) <= 16 { // the usual case: no map needed
		for i := range items {
			for j := i + 1; j < len(items); j++ {
				if items[i][0].Value.(ast.String) == items[j][0].Value.(ast.String) {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[ast.String]struct{}, len(items))
	for _, kv := range items {
		k := kv[0].Value.(ast.String)
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

func (w *walker) array() (ast.Value, error) {
	w.pos++ // [
	var elems []*ast.Term
	for {
		w.skipSpace()
		switch w.data[w.pos] {
		case ']':
			w.pos++
			return ast.NewArray(elems...), nil
		case ',':
			w.pos++
			continue
		}
		val, err := w.value()
		if err != nil {
			return nil, err
		}
		elems = append(elems, w.term(val))
	}
}

// str reads a string. Plain ones (no escapes, valid UTF-8) are taken as
// they are; any other is left to encoding/json, so escapes and invalid
// bytes come out exactly as OPA's path makes them.
func (w *walker) str() (string, error) {
	start := w.pos
	w.pos++ // opening quote
	plain := true
	for {
		switch c := w.data[w.pos]; {
		case c == '"':
			w.pos++
			raw := w.data[start:w.pos]
			if plain && utf8.Valid(raw) {
				return w.text[start+1 : w.pos-1], nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("string at byte %d: %w", start, err)
			}
			return s, nil
		case c == '\\':
			plain = false
			w.pos += 2
		default:
			w.pos++
		}
	}
}

// number reads a number as written, as json.Number keeps it, refusing
// what OPA refuses (exponents too large to evaluate with).
func (w *walker) number() (ast.Value, error) {
	start := w.pos
	for w.pos < len(w.data) && isNumberByte(w.data[w.pos]) {
		w.pos++
	}
	n, err := ast.NumberChecked(w.text[start:w.pos])
	if err != nil {
		return nil, fmt.Errorf("number at byte %d: %w", start, err)
	}
	return n, nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}
