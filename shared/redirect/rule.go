package redirect

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unsafe"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// route is a route compiled for the hot path. Its path rules are in two maps keyed
// by their source in matching form (reroute.PathOptions.Key): a request path is
// looked up whole among the exact rules, then, longest first, at each of its
// segment boundaries among the subpath rules. A lookup costs a few map probes per
// path segment, whatever the number of rules.
type route struct {
	enabled bool
	// off says why a route that is not enabled does not answer: its owner switched
	// it off (ReasonDisabled, which wins), or it is beyond its plan (ReasonPaused).
	off Reason
	// upgrade: a plain-HTTP request is sent to HTTPS first (HTTPSRedirect on and
	// the domain active at the edge; never for a route that is not enabled).
	upgrade bool
	// hsts is the Strict-Transport-Security value of HTTPS answers, or "".
	hsts string
	// only answers every path of a route without path rules (its target): no
	// matching, and the request path is kept as sent.
	only    *rule
	opts    reroute.PathOptions
	exact   map[string]*rule
	subpath map[string]*rule // the route's target, if any, is the subpath rule on "/"
	// The answer when no rule matches: gone (410), or the fallback redirect, or
	// else "not configured".
	gone     bool
	fallback *rule
}

// rule is one path rule (or a route's target, or its fallback redirect): the target
// split once into the parts that request paths and queries are spliced between, and
// the answer for a request that keeps neither precomputed, so most redirects
// allocate nothing.
type rule struct {
	status     int
	keepSuffix bool
	keepQuery  bool
	target     string // the whole target, as stored
	base       string // scheme://host[:port] + path, without a trailing slash
	pathPart   string // scheme://host[:port] + path, "/" when the target has none
	query      string // the target's raw query, without '?'
	fragment   string // the target's fragment with its '#', or ""
	body       string // the HTML body for the plain target
}

func compile(r reroute.Route) (*route, error) {
	ro := &route{
		enabled: r.Enabled && !r.Paused, // a paused route answers like a disabled one
		opts:    r.PathOptions,
	}
	switch {
	case !r.Enabled:
		ro.off = ReasonDisabled
	case r.Paused:
		ro.off = ReasonPaused
	}
	// Upgrading a domain the edge does not serve over HTTPS yet (no certificate)
	// would send its visitors to a site that fails.
	ro.upgrade = ro.enabled && r.HTTPSRedirect && r.Domain.State == reroute.DomainActive
	if r.HSTS {
		ro.hsts = hstsValue
	}
	var whole *rule
	if r.Target != "" {
		var err error
		if whole, err = compileRule(r.Target, r.Status, r.KeepPath, r.KeepQuery); err != nil {
			return nil, err
		}
	}
	if len(r.PathRules) == 0 {
		if whole == nil {
			return nil, errors.New("a route with neither a target nor path rules")
		}
		ro.only = whole
		return ro, nil
	}
	ro.exact = make(map[string]*rule)
	ro.subpath = make(map[string]*rule)
	if whole != nil {
		ro.subpath["/"] = whole
	}
	for _, pr := range r.PathRules {
		ru, err := compileRule(pr.Target, pr.Status, pr.KeepSuffix && pr.Subpath, pr.KeepQuery)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", pr.Source, err)
		}
		// Sources are canonical when saved; a stored one that is not would
		// never match a canonical request path.
		key := r.PathOptions.Key(string(reroute.AppendCanonicalPath(nil, pr.Source, false)))
		m := ro.exact
		if pr.Subpath {
			m = ro.subpath
		}
		if _, dup := m[key]; !dup || pr.Subpath && key == "/" { // the first rule wins; a "/" rule beats the target
			m[key] = ru
		}
	}
	switch f := r.Fallback; f.Answer() {
	case reroute.FallbackGone:
		ro.gone = true
	case reroute.FallbackRedirect:
		ru, err := compileRule(f.Target, f.Status, false, false)
		if err != nil {
			return nil, fmt.Errorf("fallback: %w", err)
		}
		ro.fallback = ru
	}
	return ro, nil
}

func compileRule(target string, status int, keepSuffix, keepQuery bool) (*rule, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ru := &rule{
		status:     status,
		keepSuffix: keepSuffix,
		keepQuery:  keepQuery,
		target:     target,
		query:      u.RawQuery,
	}
	if ru.status == 0 {
		ru.status = reroute.DefaultStatus
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
	ru.body = redirectBody(target)
	return ru, nil
}

// pathBuf is the size of the stack buffers a request path is put in matching form
// in; a longer path that needs it costs an allocation.
const pathBuf = 256

// match finds the rule for a request's raw path and answers its Location. ok is
// false when no rule matches (the route's fallback answers).
func (ro *route) match(path, query string) (ru *rule, location string, ok bool) {
	if ro.only != nil {
		suffix := path
		if path == "/" {
			suffix = ""
		}
		return ro.only, ro.only.location(suffix, query), true
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
	if !reroute.CanonicalPath(path, false) {
		c = bufString(reroute.AppendCanonicalPath(cbuf[:0], path, false))
	}
	k := c
	if ro.opts.IgnoreCase && !reroute.CanonicalPath(c, true) {
		k = bufString(reroute.AppendCanonicalPath(kbuf[:0], c, true))
	}
	whole := len(k)
	if ro.opts.IgnoreTrailingSlash && whole > 1 && k[whole-1] == '/' {
		whole--
	}
	n := whole
	ru, ok = ro.exact[k[:whole]]
	if !ok {
		ru, ok = ro.subpath[k[:whole]]
	}
	// Each segment boundary, longest first: "/a/b/" and "/a/b" before "/a/".
	for i := whole - 1; i > 0 && !ok; i-- {
		if k[i] != '/' {
			continue
		}
		if i+1 < whole && !ro.opts.IgnoreTrailingSlash {
			if ru, ok = ro.subpath[k[:i+1]]; ok {
				n = i + 1
				break
			}
		}
		ru, ok = ro.subpath[k[:i]]
		n = i
	}
	if !ok && k[:whole] != "/" {
		// The root, which also catches a path that does not start with "/".
		ru, ok = ro.subpath["/"]
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

// upgradeStatus answers a plain-HTTP request that a route sends to HTTPS.
const upgradeStatus = 301

// hstsValue is the Strict-Transport-Security of a route with HSTS on: one year, and
// no includeSubDomains, even for a wildcard route. The browser would apply it to
// every name under the hostname it visited, and those may be other routes, of
// other orgs, or hostnames whose certificate is not issued yet: forcing HTTPS on
// them for a year would break them. No preload either: that is the domain owner's
// decision, made at the apex.
const hstsValue = "max-age=31536000"

// upgradeLocation is the request's own URL over HTTPS: host as LookupHost gave it
// (lower-case, no port or trailing dot), the raw path and query escaped as keep-path
// escapes them. It allocates once: the result.
func upgradeLocation(host, path, query string) string {
	const scheme = "https://"
	var b strings.Builder
	b.Grow(len(scheme) + len(host) + len(path) + len(query) + 2 + escapeGrowth(path) + escapeGrowth(query))
	b.WriteString(scheme)
	b.WriteString(host)
	if path == "" || path[0] != '/' {
		b.WriteByte('/')
	}
	writeEscaped(&b, path)
	if query != "" {
		b.WriteByte('?')
		writeEscaped(&b, query)
	}
	return b.String()
}

// location builds the Location for a request's path suffix (still escaped; "" for
// none) and raw query. With keepSuffix, the suffix is appended to the target's
// path less one trailing slash: "/new/" or "/new" and "/x" make "/new/x". It
// allocates once at most: the result.
func (ru *rule) location(suffix, query string) string {
	addPath := ru.keepSuffix && suffix != ""
	addQuery := ru.keepQuery && query != ""
	if !addPath && !addQuery {
		return ru.target
	}
	var b strings.Builder
	b.Grow(len(ru.target) + len(suffix) + len(query) + 2 + escapeGrowth(suffix) + escapeGrowth(query))
	if addPath {
		b.WriteString(ru.base)
		if suffix[0] != '/' {
			b.WriteByte('/')
		}
		writeEscaped(&b, suffix)
	} else {
		b.WriteString(ru.pathPart)
	}
	switch {
	case addQuery && ru.query != "":
		b.WriteByte('?')
		b.WriteString(ru.query)
		b.WriteByte('&')
		writeEscaped(&b, query)
	case addQuery:
		b.WriteByte('?')
		writeEscaped(&b, query)
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
// fragment the target never sees; reroute.MustEscapeInPath), or a '%' that does
// not start an escape ("%2F" stays, a lone "100%" becomes "100%25").
func needsEscape(s string, i int) bool {
	c := s[i]
	if c == '%' {
		return i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])
	}
	return reroute.MustEscapeInPath(c)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func escapeGrowth(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s, i) {
			n += 2
		}
	}
	return n
}

func writeEscaped(b *strings.Builder, s string) {
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
