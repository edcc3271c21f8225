package reroute

import (
	"fmt"
	"strings"
)

// PathRule redirects the requests for some paths of a route's hostname. Its
// options mean what Cloudflare Bulk Redirects' options of the same names mean, so
// lists exported from there import unchanged.
type PathRule struct {
	// Source is the path the rule matches: it starts with "/" and carries no query
	// or fragment.
	Source string
	Target string
	Status int
	// Subpath (SUBPATH_MATCHING) also matches every path below Source, on a
	// segment boundary: "/docs" matches "/docs" and "/docs/a", never "/docsxyz".
	Subpath bool
	// KeepSuffix (PRESERVE_PATH_SUFFIX, only with Subpath) appends the part of the
	// request path below Source to the target's path.
	KeepSuffix bool
	// KeepQuery (PRESERVE_QUERY_STRING) merges the request's query into the target's.
	KeepQuery bool
}

// FallbackKind is what a route answers for a path no rule matches.
type FallbackKind string

const (
	// FallbackNotConfigured answers the service's "not configured" page (404).
	FallbackNotConfigured FallbackKind = "not_configured"
	// FallbackGone answers 410 Gone.
	FallbackGone FallbackKind = "gone"
	// FallbackRedirect redirects to Fallback.Target with Fallback.Status.
	FallbackRedirect FallbackKind = "redirect"
)

// Fallback is a route's answer when no rule matches; requests that reach it are
// "lost traffic". The zero Fallback is FallbackNotConfigured, and Normalize makes
// it so: a route saved before fallbacks existed means what it always meant.
type Fallback struct {
	Kind   FallbackKind
	Target string // with FallbackRedirect
	Status int    // with FallbackRedirect; zero means DefaultStatus
}

// Answer is the kind the fallback answers with, FallbackNotConfigured for the zero one.
func (f Fallback) Answer() FallbackKind {
	if f.Kind == "" {
		return FallbackNotConfigured
	}
	return f.Kind
}

// PathOptions are a route's matching options, applying to all its rules.
type PathOptions struct {
	// IgnoreCase matches paths case-insensitively (ASCII case folding).
	IgnoreCase bool
	// IgnoreTrailingSlash makes "/a" and "/a/" the same path.
	IgnoreTrailingSlash bool
}

// MaxSourceLen bounds a rule's source path, as MaxTargetLen bounds a target.
const MaxSourceLen = 2048

// Key is the form of a canonical path (a source, or a request path through
// AppendCanonicalPath) that rules are matched on under o: ASCII letters folded to
// lower case with IgnoreCase, one trailing slash dropped with
// IgnoreTrailingSlash ("/" stays "/"). Two sources with the same Key collide.
func (o PathOptions) Key(path string) string {
	if o.IgnoreCase {
		path = foldASCII(path)
	}
	if o.IgnoreTrailingSlash && len(path) > 1 && path[len(path)-1] == '/' {
		path = path[:len(path)-1]
	}
	return path
}

// foldASCII folds a canonical path's letters, leaving its escapes' hex digits
// in upper case.
func foldASCII(s string) string {
	if CanonicalPath(s, true) {
		return s
	}
	return string(AppendCanonicalPath(nil, s, true))
}

// NormalizeSource validates a rule's source path and returns its canonical form
// (see AppendCanonicalPath): "/caf%c3%a9" and "/café" are both "/caf%C3%A9", and
// "/%7Euser" is "/~user".
func NormalizeSource(s string) (string, error) {
	switch {
	case s == "":
		return "", fmt.Errorf("a source path is required")
	case s[0] != '/':
		return "", fmt.Errorf(`a source path starts with "/", as in "/contact"`)
	case strings.HasPrefix(s, "//"):
		// A browser reads "//x" as a host, never as a path it sends.
		return "", fmt.Errorf(`a source path cannot start with "//"`)
	case strings.IndexByte(s, '?') >= 0:
		return "", fmt.Errorf("a source path cannot carry a query: rules match the path only")
	case strings.IndexByte(s, '#') >= 0:
		return "", fmt.Errorf("a source path cannot carry a fragment: browsers never send it")
	case len(s) > MaxSourceLen:
		return "", fmt.Errorf("a source path is at most %d bytes", MaxSourceLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return "", fmt.Errorf("a source path cannot contain spaces or control characters (percent-encode them)")
		}
	}
	out := string(AppendCanonicalPath(nil, s, false))
	if len(out) > MaxSourceLen {
		return "", fmt.Errorf("a source path is at most %d bytes once encoded", MaxSourceLen)
	}
	return out, nil
}

// pathMustEscape marks the bytes a canonical path carries percent-encoded: those a
// Location header cannot carry raw (the redirector escapes the same ones).
var pathMustEscape = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>\\^`{|}", byte(c)) >= 0
	}
	return t
}()

// MustEscapeInPath reports whether a path carries byte c percent-encoded, in a
// canonical source and in a Location alike: the one list, so that the redirector
// escapes a kept path exactly as rules are matched.
func MustEscapeInPath(c byte) bool { return pathMustEscape[c] }

// unreserved are RFC 3986's unreserved characters, which mean the same escaped or
// not: the canonical form has them raw.
var unreserved = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", byte(c)) >= 0
	}
	return t
}()

// AppendCanonicalPath appends p's canonical form to dst: escapes of unreserved
// characters decoded ("%7E" is "~"), other escapes in upper case ("%2f" is "%2F",
// and stays distinct from "/"), bytes a URL cannot carry raw escaped (raw UTF-8,
// '#', a '%' that starts no escape), and with fold ASCII letters outside escapes
// in lower case. Two paths a browser or server treats as the same resource by RFC
// 3986's rules have the same canonical form; the redirector matches request paths
// in this form, without allocating for one already canonical (see CanonicalPath).
func AppendCanonicalPath(dst []byte, p string, fold bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && isHexDigit(p[i+1]) && isHexDigit(p[i+2]) {
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			i += 2
			if unreserved[d] {
				if fold && 'A' <= d && d <= 'Z' {
					d += 'a' - 'A'
				}
				dst = append(dst, d)
			} else {
				dst = append(dst, '%', hex[d>>4], hex[d&15])
			}
			continue
		}
		switch {
		case c == '%' || pathMustEscape[c]:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		case fold && 'A' <= c && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// CanonicalPath reports whether p is already in the canonical form
// AppendCanonicalPath gives it, without allocating.
func CanonicalPath(p string, fold bool) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			if i+2 >= len(p) || !isUpperHex(p[i+1]) || !isUpperHex(p[i+2]) || unreserved[unhex(p[i+1])<<4|unhex(p[i+2])] {
				return false
			}
			i += 2
		case pathMustEscape[c], fold && 'A' <= c && c <= 'Z':
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// normalizeRule validates one rule of a route for host, reporting its failing
// fields under prefix ("rules[3]."), and puts it in canonical form.
func (rules Rules) normalizeRule(host string, pr *PathRule, prefix string, v *invalid) {
	if src, err := NormalizeSource(pr.Source); err != nil {
		v.add(prefix+"source", "%s", err)
	} else {
		pr.Source = src
	}
	if t, err := rules.normalizeTargetFor(host, pr.Target); err != nil {
		v.add(prefix+"target", "%s", err)
	} else {
		pr.Target = t
	}
	if pr.Status == 0 {
		pr.Status = DefaultStatus
	}
	if !ValidStatus(pr.Status) {
		v.add(prefix+"status", "status must be 301, 302, 307 or 308")
	}
	if pr.KeepSuffix && !pr.Subpath {
		v.add(prefix+"keepSuffix", "keeping the path suffix needs subpath matching: an exact match has no suffix")
	}
}

// normalizeTargetFor is NormalizeTarget plus the loop check for a route of host
// ("" when the host itself is invalid).
func (rules Rules) normalizeTargetFor(host, target string) (string, error) {
	t, err := NormalizeTarget(target)
	if err != nil {
		return "", err
	}
	if host != "" {
		if err := rules.checkLoop(host, t); err != nil {
			return "", err
		}
	}
	return t, nil
}

// NormalizePathRule validates one rule of a route for host (already normalized),
// as Normalize does for each of a route's rules; its field errors are named
// "source", "target", "status" and "keepSuffix".
func (rules Rules) NormalizePathRule(host string, pr *PathRule) error {
	var v invalid
	rules.normalizeRule(host, pr, "", &v)
	return v.err()
}

// normalizeFallback validates a route's fallback; the zero Fallback and an
// explicit not_configured one both become the zero Fallback.
func (rules Rules) normalizeFallback(host string, f *Fallback, hasTarget bool, v *invalid) {
	switch f.Kind {
	case "", FallbackNotConfigured, FallbackGone:
		if f.Target != "" || f.Status != 0 {
			v.add("fallback.target", "only a redirect fallback has a target and a status")
			return
		}
		if f.Kind == FallbackNotConfigured {
			f.Kind = ""
		}
	case FallbackRedirect:
		if t, err := rules.normalizeTargetFor(host, f.Target); err != nil {
			v.add("fallback.target", "%s", err)
		} else {
			f.Target = t
		}
		if f.Status == 0 {
			f.Status = DefaultStatus
		}
		if !ValidStatus(f.Status) {
			v.add("fallback.status", "status must be 301, 302, 307 or 308")
		}
	default:
		v.add("fallback.kind", "a fallback is %q, %q or %q", FallbackNotConfigured, FallbackGone, FallbackRedirect)
		return
	}
	if hasTarget && f.Kind != "" {
		// The target is a subpath rule on "/": every path matches, nothing falls back.
		v.add("fallback.kind", "a route with a target answers every path: a fallback would never be used")
	}
}

// checkSources reports every rule whose source collides with an earlier one's
// under opts, or (a subpath rule on "/") with the route's target.
func checkSources(r *Route, v *invalid) {
	seen := make(map[string]int, len(r.PathRules))
	for i, pr := range r.PathRules {
		if !strings.HasPrefix(pr.Source, "/") {
			continue // already reported
		}
		key := r.PathOptions.Key(pr.Source)
		if j, dup := seen[key]; dup {
			v.add(fmt.Sprintf("rules[%d].source", i), "%s", collision(r.PathOptions, pr.Source, r.PathRules[j].Source, j))
			continue
		}
		seen[key] = i
		if r.Target != "" && pr.Subpath && key == "/" {
			v.add(fmt.Sprintf("rules[%d].source", i), `the route's target is already a subpath rule on "/": set its target instead`)
		}
	}
}

func collision(o PathOptions, src, other string, j int) string {
	var why string
	switch {
	case src == other:
	case o.IgnoreCase && o.IgnoreTrailingSlash:
		why = " once case and a trailing slash are ignored"
	case o.IgnoreCase:
		why = " once case is ignored"
	default:
		why = " once a trailing slash is ignored"
	}
	return fmt.Sprintf("%s is the same source as rules[%d] (%s)%s: each path has one rule", src, j, other, why)
}
