package pipeline

import (
	"bytes"
	"encoding/json"
)

// The whole-Pod diff decodes raw into maps (exact keys, the last of a
// repeated key wins) and descends where both sides are objects or arrays of
// equal length. member and elements walk raw the same way without decoding
// what they skip; raw is the object Decode accepted, so it is valid JSON.

// member returns the value of key in the JSON object obj (nil when absent)
// and whether obj is an object.
func member(obj []byte, key string) (val []byte, ok bool) {
	var vals [1][]byte
	ok = members(obj, []string{key}, vals[:])
	return vals[0], ok
}

// members stores in vals[k] the value of keys[k] in the JSON object obj
// (nil when absent), in one pass, and reports whether obj is an object.
func members(obj []byte, keys []string, vals [][]byte) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	if i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '}' {
		return true
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		end, escaped := skipString(obj, i)
		if end < 0 {
			return false
		}
		name := obj[i+1 : end-1]
		if escaped {
			var k string
			if json.Unmarshal(obj[i:end], &k) != nil {
				return false
			}
			name = []byte(k)
		}
		if i = skipSpace(obj, end); i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vend := skipValue(obj, i)
		if vend < 0 {
			return false
		}
		for k, key := range keys {
			if string(name) == key {
				vals[k] = obj[i:vend]
			}
		}
		if i = skipSpace(obj, vend); i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return true
		case ',':
			i = skipSpace(obj, i+1)
		default:
			return false
		}
	}
}

// elements returns the values of the JSON array arr; ok is false when arr
// is not an array.
func elements(arr []byte) (out [][]byte, ok bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return nil, false
	}
	if i = skipSpace(arr, i+1); i < len(arr) && arr[i] == ']' {
		return [][]byte{}, true
	}
	for {
		end := skipValue(arr, i)
		if end < 0 {
			return nil, false
		}
		out = append(out, arr[i:end])
		if i = skipSpace(arr, end); i >= len(arr) {
			return nil, false
		}
		switch arr[i] {
		case ']':
			return out, true
		case ',':
			i = skipSpace(arr, i+1)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i] (-1
// if it never ends) and whether it holds an escape.
func skipString(b []byte, i int) (end int, escaped bool) {
	if n := bytes.IndexByte(b[i+1:], '"'); n >= 0 && bytes.IndexByte(b[i+1:i+1+n], '\\') < 0 {
		return i + n + 2, false // the common case: no escapes
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index after the value that starts at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := skipString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] { // a plain loop: bytes.IndexAny costs more per call than it saves between strings
			case '"':
				end, _ := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
