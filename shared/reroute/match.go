package reroute

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unsafe"
)

// Matcher answers request paths by a route's target, path rules and fallback. It
// is the one implementation of the matching semantics in Go: the redirector
// answers every request with it, and the API's "try a URL" asks it, so the two
// cannot disagree. (The edge's implementation is held to the same shared corpus.)
//
// Its path rules are in two maps keyed by their source in matching form
// (PathOptions.Key): a request path is looked up whole among the exact rules,
// then, longest first, at each of its segment boundaries among the subpath rules.
// A lookup costs a few map probes per path segment, whatever the number of rules,
// and allocates nothing but the Location it builds (none for a rule that keeps
// neither path nor query). A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	// only answers every path of a route without path rules (its target): no
	// matching, and the request path is kept as sent.
	only    *CompiledRule
	opts    PathOptions
	exact   map[string]*CompiledRule
	subpath map[string]*CompiledRule // the route's target, if any, is the subpath rule on "/"
	// The answer when no rule matches: gone (410), or the fallback redirect, or
	// else "not configured".
	gone     bool
	fallback *CompiledRule
	rules    []*CompiledRule // by Index
}

// CompiledRule is one path rule (or a route's target, or its fallback redirect):
// the target split once into the parts that request paths and queries are spliced
// between.
type CompiledRule struct {
	index      int
	status     int
	keepSuffix bool
	keepQuery  bool
	target     string // the whole target, as stored
	base       string // scheme://host[:port] + path, without a trailing slash
	pathPart   string // scheme://host[:port] + path, "/" when the target has none
	query      string // the target's raw query, without '?'
	fragment   string // the target's fragment with its '#', or ""
}

// Rule indexes that are not a position in Route.PathRules.
const (
	TargetRule   = -1 // the route's target, a subpath rule on "/"
	FallbackRule = -2 // the route's fallback redirect
)

// Index is the rule's position in the route's PathRules, or TargetRule, or FallbackRule.
func (ru *CompiledRule) Index() int { return ru.index }

// Status is the rule's redirect status.
func (ru *CompiledRule) Status() int { return ru.status }

// Target is the rule's target as stored: the Location of a request that keeps
// neither path nor query.
func (ru *CompiledRule) Target() string { return ru.target }

// NewMatcher compiles r's target, rules and fallback. r's sources are canonical
// (Normalize), as stored; one that is not is put in canonical form, or it would
// never match a canonical request path. Whether r is enabled is not its concern.
func NewMatcher(r Route) (*Matcher, error) {
	m := &Matcher{opts: r.PathOptions}
	var whole *CompiledRule
	if r.Target != "" {
		var err error
		if whole, err = compileRule(TargetRule, r.Target, r.Status, r.KeepPath, r.KeepQuery); err != nil {
			return nil, err
		}
		m.rules = append(m.rules, whole)
	}
	if len(r.PathRules) == 0 {
		if whole == nil {
			return nil, errors.New("a route with neither a target nor path rules")
		}
		m.only = whole
		return m, nil
	}
	m.exact = make(map[string]*CompiledRule)
	m.subpath = make(map[string]*CompiledRule)
	if whole != nil {
		m.subpath["/"] = whole
	}
	for i, pr := range r.PathRules {
		ru, err := compileRule(i, pr.Target, pr.Status, pr.KeepSuffix && pr.Subpath, pr.KeepQuery)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", pr.Source, err)
		}
		m.rules = append(m.rules, ru)
		key := r.PathOptions.Key(string(AppendCanonicalPath(nil, pr.Source, false)))
		byKey := m.exact
		if pr.Subpath {
			byKey = m.subpath
		}
		if _, dup := byKey[key]; !dup || pr.Subpath && key == "/" { // the first rule wins; a "/" rule beats the target
			byKey[key] = ru
		}
	}
	switch f := r.Fallback; f.Answer() {
	case FallbackGone:
		m.gone = true
	case FallbackRedirect:
		ru, err := compileRule(FallbackRule, f.Target, f.Status, false, false)
		if err != nil {
			return nil, fmt.Errorf("fallback: %w", err)
		}
		m.fallback = ru
		m.rules = append(m.rules, ru)
	}
	return m, nil
}

// Rules lists every compiled rule: the target's, the path rules' in order, the
// fallback's; a caller may keep something of its own per rule by Index.
func (m *Matcher) Rules() []*CompiledRule { return m.rules }

// Fallback is the answer for a path no rule matches: gone (410), a redirect
// (rule), or "not configured" (neither).
func (m *Matcher) Fallback() (gone bool, rule *CompiledRule) { return m.gone, m.fallback }

func compileRule(index int, target string, status int, keepSuffix, keepQuery bool) (*CompiledRule, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ru := &CompiledRule{
		index:      index,
		status:     status,
		keepSuffix: keepSuffix,
		keepQuery:  keepQuery,
		target:     target,
		query:      u.RawQuery,
	}
	if ru.status == 0 {
		ru.status = DefaultStatus
	}
	if u.Fragment != "" || strings.HasSuffix(target, "#") {
		ru.fragment = "#" + u.EscapedFragment()
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	ru.pathPart = u.String()
	ru.base = strings.TrimSuffix(ru.pathPart, "/")
	return ru, nil
}

// pathBuf is the size of the stack buffers a request path is put in matching form
// in; a longer path that needs it costs an allocation.
const pathBuf = 256

// Match finds the rule for a request's raw path and query (as on the request
// line, query without '?') and answers its Location. ok is false when no rule
// matches: the fallback answers (see Fallback).
func (m *Matcher) Match(path, query string) (ru *CompiledRule, location string, ok bool) {
	if m.only != nil {
		suffix := path
		if path == "/" {
			suffix = ""
		}
		return m.only, m.only.location(suffix, query), true
	}
	if path == "" {
		path = "/"
	}
	// c is the path in canonical form, k the form rules are keyed in (c with
	// IgnoreCase folded): either the request's own string, or a string over a
	// stack buffer that lives as long as this call. ASCII folding keeps lengths, so
	// an offset in k is one in c.
	var cbuf, kbuf [pathBuf]byte
	c := path
	if !CanonicalPath(path, false) {
		c = bufString(AppendCanonicalPath(cbuf[:0], path, false))
	}
	k := c
	if m.opts.IgnoreCase && !CanonicalPath(c, true) {
		k = bufString(AppendCanonicalPath(kbuf[:0], c, true))
	}
	whole := len(k)
	if m.opts.IgnoreTrailingSlash && whole > 1 && k[whole-1] == '/' {
		whole--
	}
	n := whole
	ru, ok = m.exact[k[:whole]]
	if !ok {
		ru, ok = m.subpath[k[:whole]]
	}
	// Each segment boundary, longest first: "/a/b/" and "/a/b" before "/a/".
	for i := whole - 1; i > 0 && !ok; i-- {
		if k[i] != '/' {
			continue
		}
		if i+1 < whole && !m.opts.IgnoreTrailingSlash {
			if ru, ok = m.subpath[k[:i+1]]; ok {
				n = i + 1
				break
			}
		}
		ru, ok = m.subpath[k[:i]]
		n = i
	}
	if !ok && k[:whole] != "/" {
		// The root, which also catches a path that does not start with "/".
		ru, ok = m.subpath["/"]
		n = 0
		if k[0] == '/' {
			n = 1
		}
	}
	if !ok {
		return nil, "", false
	}
	// The suffix is what the source left of the path, with the slash on the
	// boundary: "/docs" or "/docs/" leave "/a" of "/docs/a", and "/" of "/docs/".
	var suffix string
	if n < len(c) {
		suffix = c[n:]
		if n > 0 && c[n-1] == '/' {
			suffix = c[n-1:]
		}
	}
	return ru, ru.location(suffix, query), true
}

// bufString is b's bytes as a string without copying them: b is a stack buffer
// of the caller, and the string must not outlive the call (map lookups and
// copying into the Location keep nothing of it).
func bufString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b)) //nolint:gosec // G103: audited above; the string never outlives b (BenchmarkResolveRules keeps it allocation-free)
}

// location builds the Location for a request's path suffix (still escaped; "" for
// none) and raw query. With keepSuffix, the suffix is appended to the target's
// path less one trailing slash: "/new/" or "/new" and "/x" make "/new/x". It
// allocates once at most: the result.
func (ru *CompiledRule) location(suffix, query string) string {
	addPath := ru.keepSuffix && suffix != ""
	addQuery := ru.keepQuery && query != ""
	if !addPath && !addQuery {
		return ru.target
	}
	var b strings.Builder
	b.Grow(len(ru.target) + len(suffix) + len(query) + 2 + EscapeGrowth(suffix) + EscapeGrowth(query))
	if addPath {
		b.WriteString(ru.base)
		if suffix[0] != '/' {
			b.WriteByte('/')
		}
		WriteEscaped(&b, suffix)
	} else {
		b.WriteString(ru.pathPart)
	}
	switch {
	case addQuery && ru.query != "":
		b.WriteByte('?')
		b.WriteString(ru.query)
		b.WriteByte('&')
		WriteEscaped(&b, query)
	case addQuery:
		b.WriteByte('?')
		WriteEscaped(&b, query)
	case ru.query != "":
		b.WriteByte('?')
		b.WriteString(ru.query)
	}
	b.WriteString(ru.fragment)
	return b.String()
}

// needsEscape reports whether s[i] must be percent-encoded in a Location: a byte
// a request line may still carry but a Location must not (raw UTF-8, spaces,
// controls, and '#', which kept raw would turn the rest of the path into a
// fragment the target never sees; MustEscapeInPath), or a '%' that does not start
// an escape ("%2F" stays, a lone "100%" becomes "100%25").
func needsEscape(s string, i int) bool {
	c := s[i]
	if c == '%' {
		return i+2 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2])
	}
	return pathMustEscape[c]
}

// EscapeGrowth is how many bytes WriteEscaped adds to s.
func EscapeGrowth(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s, i) {
			n += 2
		}
	}
	return n
}

// WriteEscaped writes a raw request path or query into a Location, escaping what
// a Location cannot carry (see needsEscape) and nothing else.
func WriteEscaped(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s, i) {
			c := s[i]
			b.WriteString(s[start:i])
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
}

// Answer is what a route's rules answer for one request path, for people asking
// ("try a URL"); the redirector uses Match and Fallback directly.
type Answer struct {
	// Kind is FallbackRedirect for a redirect (by a rule or the fallback),
	// FallbackGone for 410, FallbackNotConfigured for the "not configured" page.
	Kind     FallbackKind
	Status   int    // 301, 302, 307 or 308 with a redirect; 410 or 404 otherwise
	Location string // with a redirect
	// Rule is the index of the rule that matched (see CompiledRule.Index):
	// FallbackRule when the fallback redirect answered; meaningless otherwise.
	Rule int
	// Fallback is set when no rule matched and the fallback answered.
	Fallback bool
}

// Answer says what the route answers for a request's raw path and query.
func (m *Matcher) Answer(path, query string) Answer {
	if ru, loc, ok := m.Match(path, query); ok {
		return Answer{Kind: FallbackRedirect, Status: ru.Status(), Location: loc, Rule: ru.Index()}
	}
	switch {
	case m.fallback != nil:
		return Answer{Kind: FallbackRedirect, Status: m.fallback.status, Location: m.fallback.target, Rule: FallbackRule, Fallback: true}
	case m.gone:
		return Answer{Kind: FallbackGone, Status: 410, Rule: FallbackRule, Fallback: true}
	}
	return Answer{Kind: FallbackNotConfigured, Status: 404, Rule: FallbackRule, Fallback: true}
}
