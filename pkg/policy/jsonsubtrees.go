package policy

// The subtree cache of the JSON parser: objects and arrays converted once
// are shared by their exact bytes across requests.

import (
	"github.com/open-policy-agent/opa/v1/ast"
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
