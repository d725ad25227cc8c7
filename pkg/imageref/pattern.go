package imageref

import (
	"fmt"
	"regexp"
	"strings"
)

// Pattern is a compiled image pattern. Its grammar:
//
//	pattern  = name [ ":" tag | "@" digest ]
//	name     = segment *( "/" segment )
//	segment  = "*" | literal
//
// The name is normalised like an image reference: "nginx" means
// "docker.io/library/nginx", "acme/app" means "docker.io/acme/app",
// "index.docker.io" means "docker.io", and the first segment is a registry
// when it contains "." or ":", is "localhost", or is "*". A pattern of one
// segment is a registry when it contains "." or is "host:port" or
// "localhost" ("myregistry.io", "localhost:5000"), otherwise a Docker Hub
// image ("nginx", "nginx:1.25"). A lone "*" matches every image.
//
// Matching compares whole "/"-separated segments of the normalised reference
// path (registry first, case-insensitively; repository segments exactly). "*"
// matches exactly one segment, never part of one. A pattern without tag or
// digest matches every reference whose path starts with the pattern's
// segments: "ghcr.io/acme" and "ghcr.io/acme/*" both match
// "ghcr.io/acme/app" (and "ghcr.io/acme/team/app"), but never
// "ghcr.io/acme-evil/app"; "myregistry.io" never matches
// "myregistry.io.attacker.com/x". A pattern with a tag or digest matches only
// the same full path with that tag (implicit "latest" counts) or digest.
//
// A tag does not pin content, a digest does: the runtime pulls
// "app:v1@sha256:x" by its digest, whatever the tag. So a tag-only pattern
// never matches a reference that carries a digest (it would admit any image
// of the repository); to allow one, the pattern names the digest
// ("app@sha256:x" or "app:v1@sha256:x"; with both, a reference's tag, when
// written, must be that tag too).
type Pattern struct {
	raw      string
	segments []string // segments[0] is the registry, lowercased
	tag      string
	digest   string
}

var (
	// registrySegment is a host name or IP with an optional port.
	registrySegment = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$`)
	// pathSegment is one repository path component (distribution grammar).
	pathSegment = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	tagRegexp   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// CompilePattern parses and validates a pattern.
func CompilePattern(s string) (Pattern, error) {
	p := Pattern{raw: s}
	if s == "" {
		return p, fmt.Errorf("image pattern is empty")
	}
	name := s
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, p.digest = name[:i], name[i+1:]
		if _, err := Parse("x@" + p.digest); err != nil {
			return p, fmt.Errorf("image pattern %q: digest %q is not valid", s, p.digest)
		}
	}
	segs := strings.Split(name, "/")
	if last := segs[len(segs)-1]; len(segs) > 1 {
		if i := strings.IndexByte(last, ':'); i >= 0 {
			segs[len(segs)-1], p.tag = last[:i], last[i+1:]
			if !tagRegexp.MatchString(p.tag) {
				return p, fmt.Errorf("image pattern %q: tag %q is not valid", s, p.tag)
			}
		}
	} else if len(segs) == 1 && !isLoneRegistry(segs[0]) {
		// "nginx:1.25" is a familiar name with a tag.
		if i := strings.IndexByte(segs[0], ':'); i >= 0 {
			segs[0], p.tag = segs[0][:i], segs[0][i+1:]
			if !tagRegexp.MatchString(p.tag) {
				return p, fmt.Errorf("image pattern %q: tag %q is not valid", s, p.tag)
			}
		}
	}
	segs = normaliseSegments(segs)
	for i, seg := range segs {
		switch {
		case seg == "*":
		case seg == "":
			return p, fmt.Errorf("image pattern %q has an empty segment", s)
		case strings.Contains(seg, "*"):
			return p, fmt.Errorf("image pattern %q: %q: \"*\" must be a whole segment", s, seg)
		case i == 0 && !registrySegment.MatchString(seg):
			return p, fmt.Errorf("image pattern %q: %q is not a valid registry", s, seg)
		case i > 0 && !pathSegment.MatchString(seg):
			return p, fmt.Errorf("image pattern %q: %q is not a valid repository segment (lowercase letters, digits, separators)", s, seg)
		}
	}
	if (p.tag != "" || p.digest != "") && len(segs) < 2 {
		return p, fmt.Errorf("image pattern %q: a tag or digest needs a repository", s)
	}
	segs[0] = strings.ToLower(segs[0])
	p.segments = segs
	return p, nil
}

// isRegistry tells whether the first segment of a name is a registry host.
func isRegistry(seg string) bool {
	return seg == "localhost" || seg == "*" || strings.ContainsAny(seg, ".:") || strings.ToLower(seg) != seg
}

// isLoneRegistry tells whether a single-segment pattern names a registry
// ("myregistry.io", "localhost", "localhost:5000", "*") rather than a Docker
// Hub image with an optional tag ("nginx", "nginx:1.25").
func isLoneRegistry(seg string) bool {
	host, port, hasPort := strings.Cut(seg, ":")
	if hasPort {
		return port != "" && strings.Trim(port, "0123456789") == ""
	}
	return host == "localhost" || host == "*" || strings.Contains(host, ".")
}

// normaliseSegments applies Docker Hub's familiar-name rules.
func normaliseSegments(segs []string) []string {
	switch {
	case len(segs) == 1 && isLoneRegistry(segs[0]):
		return segs
	case !isRegistry(segs[0]):
		segs = append([]string{"docker.io"}, segs...)
		if len(segs) == 2 {
			segs = []string{"docker.io", "library", segs[1]}
		}
	case strings.EqualFold(segs[0], "index.docker.io"):
		segs[0] = "docker.io"
	}
	return segs
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// HasTagOrDigest reports whether the pattern names a tag or a digest.
func (p Pattern) HasTagOrDigest() bool { return p.tag != "" || p.digest != "" }

// Match reports whether the parsed reference r matches the pattern.
func (p Pattern) Match(r Ref) bool {
	if r.Registry == "" {
		return false
	}
	refSegs := append([]string{strings.ToLower(r.Registry)}, strings.Split(r.Repository, "/")...)
	exact := p.tag != "" || p.digest != ""
	if len(p.segments) > len(refSegs) || (exact && len(p.segments) != len(refSegs)) {
		return false
	}
	for i, seg := range p.segments {
		if seg != "*" && seg != refSegs[i] {
			return false
		}
	}
	switch {
	case p.digest != "":
		return r.Digest == p.digest && (p.tag == "" || r.Tag == "" || r.Tag == p.tag)
	case p.tag != "":
		return r.Tag == p.tag && r.Digest == ""
	}
	return true
}

// Matches parses ref and pattern and reports whether they match. An invalid
// pattern is an error; an invalid reference matches nothing.
func Matches(ref, pattern string) (bool, error) {
	p, err := CompilePattern(pattern)
	if err != nil {
		return false, err
	}
	r, err := Parse(ref)
	if err != nil {
		return false, nil
	}
	return p.Match(r), nil
}

// MatchAny reports whether r matches any of the patterns.
func MatchAny(r Ref, patterns []Pattern) bool {
	for _, p := range patterns {
		if p.Match(r) {
			return true
		}
	}
	return false
}
