package redirect

import (
	"net/url"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// rule is a route compiled for the hot path: the target split once into the parts
// that request paths and queries are spliced between, and the answer for a route
// that keeps neither precomputed, so most redirects allocate nothing.
type rule struct {
	status  int
	enabled bool
	// upgrade: a plain-HTTP request is sent to HTTPS first (HTTPSRedirect on and
	// the domain active at the edge; never for a route that is not enabled).
	upgrade bool
	// hsts is the Strict-Transport-Security value of HTTPS answers, or "".
	hsts      string
	keepPath  bool
	keepQuery bool
	target    string // the whole target, as stored
	base      string // scheme://host[:port] + path, without a trailing slash
	pathPart  string // scheme://host[:port] + path, "/" when the target has none
	query     string // the target's raw query, without '?'
	fragment  string // the target's fragment with its '#', or ""
	body      string // the HTML body for the plain target
}

func compile(r reroute.Route) (*rule, error) {
	u, err := url.Parse(r.Target)
	if err != nil {
		return nil, err
	}
	ru := &rule{
		status:    r.Status,
		enabled:   r.Enabled && !r.Paused, // a paused route answers like a disabled one
		keepPath:  r.KeepPath,
		keepQuery: r.KeepQuery,
		target:    r.Target,
		query:     u.RawQuery,
	}
	if ru.status == 0 {
		ru.status = reroute.DefaultStatus
	}
	// Upgrading a domain the edge does not serve over HTTPS yet (no certificate)
	// would send its visitors to a site that fails.
	ru.upgrade = ru.enabled && r.HTTPSRedirect && r.Domain.State == reroute.DomainActive
	if r.HSTS {
		ru.hsts = hstsValue
	}
	if u.Fragment != "" || strings.HasSuffix(r.Target, "#") {
		ru.fragment = "#" + u.EscapedFragment()
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	ru.pathPart = u.String()
	ru.base = strings.TrimSuffix(ru.pathPart, "/")
	ru.body = redirectBody(r.Target)
	return ru, nil
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

// location builds the Location for a request's raw (still escaped) path and query.
// It allocates once at most: the result.
func (ru *rule) location(path, query string) string {
	addPath := ru.keepPath && path != "" && path != "/"
	addQuery := ru.keepQuery && query != ""
	if !addPath && !addQuery {
		return ru.target
	}
	var b strings.Builder
	b.Grow(len(ru.target) + len(path) + len(query) + 2 + escapeGrowth(path) + escapeGrowth(query))
	if addPath {
		b.WriteString(ru.base)
		if path[0] != '/' {
			b.WriteByte('/')
		}
		writeEscaped(&b, path)
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

// mustEscape marks the bytes a request line may still carry (raw UTF-8 from a
// careless client, spaces, controls) that a Location header must not. '#' is one:
// kept raw, it would end the path and turn the rest into a fragment the target
// never sees. '%' is handled by needsEscape: an existing escape is kept as sent.
var mustEscape = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>\\^`{|}", byte(c)) >= 0
	}
	return t
}()

// needsEscape reports whether s[i] must be percent-encoded in a Location: one of
// mustEscape's bytes, or a '%' that does not start an escape ("%2F" stays, a lone
// "100%" becomes "100%25").
func needsEscape(s string, i int) bool {
	c := s[i]
	if c == '%' {
		return i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])
	}
	return mustEscape[c]
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
