package policy

// The JSON-to-Rego parser behind the policy input: one pass over the bytes,
// building terms directly, with subtrees shared through the engine cache.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
)

// parseJSON parses one JSON document into a term. It expects the output of
// encoding/json (valid UTF-8, no trailing data) and checks as it goes.
func parseJSON(b []byte) (*ast.Term, error) { return parseJSONWith(b, nil, nil) }

// parseJSONWith is parseJSON sharing one term per distinct short string
// (keys and values) through strs, which may be nil. Terms are immutable
// once built, so sharing them is safe (OPA interns terms the same way).
func parseJSONWith(b []byte, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	return parse(&jsonParser{b: b, strs: strs}, trees)
}

// parseSent is parseJSONWith for an object's JSON as a client sent it
// rather than as encoding/json wrote it: it leaves out the root object's
// metadata.managedFields (without converting them) and keeps the last of
// duplicate keys, as encoding/json does.
func parseSent(b []byte, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	return parse(&jsonParser{b: b, strs: strs, sent: true, strip: stripRoot}, trees)
}

func parse(p *jsonParser, trees *subtrees) (*ast.Term, error) {
	if p.strs == nil {
		p.strs = make(map[string]*ast.Term, 64)
	}
	if trees != nil {
		p.trees, p.spans = trees, compositeSpans(p.b)
	}
	t, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, p.errorf("trailing data")
	}
	return t, nil
}

type jsonParser struct {
	b    []byte
	i    int
	strs map[string]*ast.Term
	// sent: b is not encoding/json output, so keys may repeat. strip is
	// what the next object opened leaves out.
	sent  bool
	strip strip
	// Scratch stacks for the members of the objects and arrays being
	// parsed: each is built at its final size once complete, instead of
	// growing element by element.
	kvs   [][2]*ast.Term
	elems []*ast.Term
	// trees, when set, holds terms of objects and arrays seen before;
	// spans are the extents of b's objects and arrays in the order they
	// open, and next is the first span not yet passed.
	trees *subtrees
	spans []span
	next  int
}

// strip says which members of an object the parser leaves out.
type strip uint8

const (
	stripNone strip = iota
	stripRoot       // the root object: metadata gets stripMeta
	stripMeta       // the root's metadata: managedFields are left out
)

// maxShared is the longest string shared through jsonParser.strs; longer
// ones (images with digests, annotations) rarely repeat.
const maxShared = 64

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("parse JSON at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (*ast.Term, error) {
	p.space()
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{' || c == '[':
		return p.composite()
	case c == '"':
		return p.strTerm()
	case c == 't' && p.lit("true"):
		return ast.InternedTerm(true), nil
	case c == 'f' && p.lit("false"):
		return ast.InternedTerm(false), nil
	case c == 'n' && p.lit("null"):
		return ast.InternedNullTerm, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		for p.i < len(p.b) && strings.IndexByte("+-.eE0123456789", p.b[p.i]) >= 0 {
			p.i++
		}
		if t := ast.InternedIntNumberTermFromString(string(p.b[start:p.i])); t != nil {
			return t, nil // small integers: no allocation, and no float parsing needed
		}
		n := json.Number(p.b[start:p.i])
		if _, err := n.Float64(); err != nil {
			return nil, p.errorf("bad number %q", string(n))
		}
		return ast.NumberTerm(n), nil
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *jsonParser) lit(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

func (p *jsonParser) object() (*ast.Term, error) {
	strip := p.strip
	p.strip = stripNone
	p.i++ // {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return ast.NewTerm(ast.NewObject()), nil
	}
	start := len(p.kvs)
	defer func() { p.kvs = p.kvs[:start] }()
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.errorf("want object key")
		}
		k, err := p.strTerm()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.errorf("want ':'")
		}
		p.i++
		switch key := k.Value.(ast.String); {
		case strip == stripMeta && key == "managedFields":
			if err := p.skipValue(); err != nil {
				return nil, err
			}
		default:
			if strip == stripRoot && key == "metadata" {
				p.strip = stripMeta
			}
			v, err := p.value()
			p.strip = stripNone
			if err != nil {
				return nil, err
			}
			p.kvs = append(p.kvs, [2]*ast.Term{k, v})
		}
		p.space()
		if p.i >= len(p.b) {
			return nil, p.errorf("unexpected end in object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			kvs := p.kvs[start:]
			if p.sent {
				kvs = lastWins(kvs)
			}
			return ast.NewTerm(ast.NewObject(kvs...)), nil
		default:
			return nil, p.errorf("want ',' or '}'")
		}
	}
}

// lastWins drops, in place, every member whose key comes again later:
// ast.NewObject would keep both. Linear: a request's object may carry
// hundreds of thousands of keys (labels); small objects skip the set.
func lastWins(kvs [][2]*ast.Term) [][2]*ast.Term {
	if len(kvs) <= 8 {
		out := kvs[:0]
		for i, kv := range kvs {
			k := kv[0].Value.(ast.String)
			if !slices.ContainsFunc(kvs[i+1:], func(o [2]*ast.Term) bool { return o[0].Value.(ast.String) == k }) {
				out = append(out, kv)
			}
		}
		return out
	}
	last := make(map[ast.String]int, len(kvs))
	for i, kv := range kvs {
		last[kv[0].Value.(ast.String)] = i
	}
	out := kvs[:0]
	for i, kv := range kvs {
		if last[kv[0].Value.(ast.String)] == i {
			out = append(out, kv)
		}
	}
	return out
}

// skipValue passes over one value without converting it. Objects and
// arrays are only scanned for their end: b is known to be JSON.
func (p *jsonParser) skipValue() error {
	p.space()
	if p.i >= len(p.b) || (p.b[p.i] != '{' && p.b[p.i] != '[') {
		_, err := p.value()
		return err
	}
	for depth := 0; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '"':
			p.i = skipString(p.b, p.i)
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				p.i++
				return nil
			}
		}
	}
	return p.errorf("unexpected end")
}

// skipString returns the offset of the closing quote of the string whose
// opening quote is at b[i], or len(b).
func skipString(b []byte, i int) int {
	for i++; i < len(b) && b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i
}

func (p *jsonParser) array() (*ast.Term, error) {
	p.i++ // [
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return ast.ArrayTerm(), nil
	}
	start := len(p.elems)
	defer func() { p.elems = p.elems[:start] }()
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, p.errorf("unexpected end in array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			// The array keeps its slice: copy the members out of the scratch stack.
			return ast.ArrayTerm(slices.Clone(p.elems[start:])...), nil
		default:
			return nil, p.errorf("want ',' or ']'")
		}
	}
}

// strTerm parses a JSON string into a term, shared with every other
// occurrence of the same short string in the document.
func (p *jsonParser) strTerm() (*ast.Term, error) {
	start := p.i
	if end := p.plainEnd(); end > 0 && end-start-2 <= maxShared {
		raw := p.b[start+1 : end-1]
		if t, ok := p.strs[string(raw)]; ok { // no allocation for the lookup
			p.i = end
			return t, nil
		}
	}
	s, err := p.str()
	if err != nil {
		return nil, err
	}
	if len(s) > maxShared {
		return ast.StringTerm(s), nil
	}
	t := ast.StringTerm(s)
	if p.i-start-2 == len(s) { // no escapes: the raw bytes are the key
		p.strs[s] = t
	}
	return t, nil
}

// plainEnd returns the offset just past the closing quote of the string at
// p.i when it has no escapes, else 0. p.i is left unchanged.
func (p *jsonParser) plainEnd() int {
	for j := p.i + 1; j < len(p.b); j++ {
		switch p.b[j] {
		case '\\':
			return 0
		case '"':
			return j + 1
		}
	}
	return 0
}

// str parses a JSON string; strings without escapes take the fast path.
func (p *jsonParser) str() (string, error) {
	start := p.i
	p.i++ // opening quote
	escaped := false
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case '\\':
			escaped = true
			p.i += 2
			continue
		case '"':
			p.i++
			if !escaped {
				s := string(p.b[start+1 : p.i-1])
				if !utf8.ValidString(s) {
					return "", p.errorf("invalid UTF-8 in string")
				}
				return s, nil
			}
			var s string
			if err := json.Unmarshal(p.b[start:p.i], &s); err != nil {
				return "", p.errorf("bad string: %v", err)
			}
			return s, nil
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}
