package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	corev1 "k8s.io/api/core/v1"
)

// The input document every policy sees, built once per request and shared
// by every policy (only input.parameters differs):
//
//	input.request    {operation, subResource, namespace, name, dryRun, userInfo}
//	input.object     the Pod after defaults, in its JSON (API) form
//	input.oldObject  the Pod before the change (UPDATE only), else absent
//	input.namespace  the Namespace object, else absent
//	input.parameters the policy's parameters ({} when none are configured)
//
// input.object is the Pod as the API server sent it (after earlier mutating
// webhooks), without metadata.managedFields; under `tollgate eval`/`test`
// it is the typed Pod's JSON. input.oldObject, never changed, is the stored
// Pod as sent. Input.ObjectJSON and OldObjectJSON carry what was sent.
//
// policies/schemas/input.json describes it.

var (
	keyRequest    = ast.InternedTerm("request")
	keyObject     = ast.InternedTerm("object")
	keyOldObject  = ast.InternedTerm("oldObject")
	keyNamespace  = ast.InternedTerm("namespace")
	keyParameters = ast.InternedTerm("parameters")
)

// document is the per-request part of the input, converted once.
type document struct {
	request, object, oldObject, namespace *ast.Term
}

// newDocument converts in to Rego values: each object's JSON (as sent, or
// marshalled once) is parsed straight into AST terms, without an
// intermediate map[string]any. Objects and arrays found in trees (which may
// be nil) by their exact JSON are reused instead of parsed again.
func newDocument(in Input, trees *subtrees) (*document, error) {
	d := &document{request: requestTerm(in.Request)}
	// One string table for the whole document: a Pod repeats the same keys
	// and many values ("name", "resources", "cpu", "IfNotPresent", ...) in
	// every container, and oldObject repeats object.
	strs := make(map[string]*ast.Term, 128)
	var err error
	if d.object, err = podTerm(in.Object, in.ObjectJSON, strs, trees); err != nil {
		return nil, fmt.Errorf("convert object: %w", err)
	}
	if in.OldObject != nil {
		if d.oldObject, err = podTerm(in.OldObject, in.OldObjectJSON, strs, trees); err != nil {
			return nil, fmt.Errorf("convert oldObject: %w", err)
		}
	}
	if in.Namespace != nil {
		if d.namespace, err = jsonTermWith(in.Namespace, strs, trees); err != nil {
			return nil, fmt.Errorf("convert namespace: %w", err)
		}
	}
	return d, nil
}

// with returns the full input for one policy.
func (d *document) with(params *ast.Term) ast.Value {
	kvs := make([][2]*ast.Term, 0, 5)
	kvs = append(kvs, [2]*ast.Term{keyRequest, d.request}, [2]*ast.Term{keyObject, d.object})
	if d.oldObject != nil {
		kvs = append(kvs, [2]*ast.Term{keyOldObject, d.oldObject})
	}
	if d.namespace != nil {
		kvs = append(kvs, [2]*ast.Term{keyNamespace, d.namespace})
	}
	kvs = append(kvs, [2]*ast.Term{keyParameters, params})
	return ast.NewObject(kvs...)
}

func requestTerm(r Request) *ast.Term {
	groups := make([]*ast.Term, len(r.UserInfo.Groups))
	for i, g := range r.UserInfo.Groups {
		groups[i] = ast.StringTerm(g)
	}
	extra := ast.NewObject()
	for k, vs := range r.UserInfo.Extra {
		arr := make([]*ast.Term, len(vs))
		for i, v := range vs {
			arr[i] = ast.StringTerm(v)
		}
		extra.Insert(ast.StringTerm(k), ast.ArrayTerm(arr...))
	}
	user := ast.ObjectTerm(
		ast.Item(ast.StringTerm("username"), ast.StringTerm(r.UserInfo.Username)),
		ast.Item(ast.StringTerm("uid"), ast.StringTerm(r.UserInfo.UID)),
		ast.Item(ast.StringTerm("groups"), ast.ArrayTerm(groups...)),
		ast.Item(ast.StringTerm("extra"), ast.NewTerm(extra)),
	)
	return ast.ObjectTerm(
		ast.Item(ast.StringTerm("operation"), ast.StringTerm(r.Operation)),
		ast.Item(ast.StringTerm("subResource"), ast.StringTerm(r.SubResource)),
		ast.Item(ast.StringTerm("namespace"), ast.StringTerm(r.Namespace)),
		ast.Item(ast.StringTerm("name"), ast.StringTerm(r.Name)),
		ast.Item(ast.StringTerm("dryRun"), ast.BooleanTerm(r.DryRun)),
		ast.Item(ast.StringTerm("userInfo"), user),
	)
}

// podTerm converts pod from sent, the JSON it was decoded from, when set;
// else, or when sent does not parse (invalid UTF-8, which encoding/json
// replaced silently while decoding), from pod marshalled.
func podTerm(pod *corev1.Pod, sent []byte, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	if len(sent) > 0 {
		if t, err := parseSent(sent, strs, trees); err == nil {
			return t, nil
		}
	}
	return jsonTermWith(pod, strs, trees)
}

// jsonTerm marshals v and parses the JSON into a term.
func jsonTerm(v any) (*ast.Term, error) { return jsonTermWith(v, nil, nil) }

func jsonTermWith(v any, strs map[string]*ast.Term, trees *subtrees) (*ast.Term, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return parseJSONWith(b, strs, trees)
}

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

// span is where one object or array of a JSON document starts and ends
// (just past its closing bracket).
type span struct{ start, end int }

// compositeSpans finds the extent of every object and array in b, in the
// order they open. It trusts b to be JSON: on unbalanced brackets it
// returns nil, and the parser reports the error. Wrong spans could only
// cost cache misses: a hit means the bytes at a position are exactly a
// value parsed before, and JSON values end where they end.
func compositeSpans(b []byte) []span {
	var spans []span
	open := make([]int, 0, 16) // indexes into spans
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = skipString(b, i)
		case '{', '[':
			open = append(open, len(spans))
			spans = append(spans, span{start: i})
		case '}', ']':
			if len(open) == 0 {
				return nil
			}
			spans[open[len(open)-1]].end = i + 1
			open = open[:len(open)-1]
		}
	}
	if len(open) > 0 {
		return nil
	}
	return spans
}

// subtrees caches converted objects and arrays by their exact JSON, for
// the life of an Engine: from one request to the next most of a Pod
// repeats (the containers of replicas, their env, resources, probes), and
// converting it is most of the cost of building the input. Terms are
// immutable once built, so requests share them.
type subtrees = boundedCache[*ast.Term]

// Bounds of the subtree cache: values shorter than minTree are cheaper to
// parse than to look up; each of the two generations holds at most
// maxTreeBytes of JSON (the terms take a few times that).
const (
	minTree      = 32
	maxTree      = 16 << 10
	maxTreeBytes = 512 << 10
)

func newSubtrees() *subtrees {
	c := newBoundedCache[*ast.Term](maxTreeBytes)
	c.cost = func(k string) int { return len(k) }
	return &c
}

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

// composite parses an object or array, or takes it from p.trees.
func (p *jsonParser) composite() (*ast.Term, error) {
	if p.strip != stripNone {
		if p.b[p.i] == '{' {
			return p.object() // not cached: its term lacks what its JSON holds
		}
		p.strip = stripNone
	}
	start, end := p.i, p.spanEnd()
	if end > 0 {
		if t, ok := p.trees.getBytes(p.b[start:end]); ok {
			p.i = end
			return t, nil
		}
	}
	var t *ast.Term
	var err error
	if p.b[p.i] == '{' {
		t, err = p.object()
	} else {
		t, err = p.array()
	}
	if err == nil && end == p.i {
		p.trees.put(string(p.b[start:end]), t)
	}
	return t, err
}

// spanEnd returns the end of the object or array opening at p.i when
// p.trees may hold it, else 0.
func (p *jsonParser) spanEnd() int {
	for p.next < len(p.spans) && p.spans[p.next].start < p.i {
		p.next++ // passed, or inside a value taken from the cache
	}
	if p.next == len(p.spans) || p.spans[p.next].start != p.i {
		return 0
	}
	sp := p.spans[p.next]
	if n := sp.end - sp.start; n < minTree || n > maxTree {
		return 0
	}
	return sp.end
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
// ast.NewObject would keep both.
func lastWins(kvs [][2]*ast.Term) [][2]*ast.Term {
	out := kvs[:0]
	for i, kv := range kvs {
		k := kv[0].Value.(ast.String)
		if !slices.ContainsFunc(kvs[i+1:], func(o [2]*ast.Term) bool { return o[0].Value.(ast.String) == k }) {
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
