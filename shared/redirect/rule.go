package redirect

import (
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// route is a route compiled for the hot path: reroute's Matcher for its paths,
// and what the redirector adds around it.
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
	m    *reroute.Matcher
	// bodies are the pages of the rules' plain targets, by rule index (offset by
	// the negative indexes), so that most redirects allocate nothing.
	bodies []string
}

// bodyOffset maps reroute's rule indexes (from FallbackRule up) to bodies.
const bodyOffset = -reroute.FallbackRule

func compile(r reroute.Route) (*route, error) {
	m, err := reroute.NewMatcher(r)
	if err != nil {
		return nil, err
	}
	ro := &route{
		enabled: r.Enabled && !r.Paused, // a paused route answers like a disabled one
		m:       m,
		bodies:  make([]string, len(r.PathRules)+bodyOffset),
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
	for _, ru := range m.Rules() {
		ro.bodies[ru.Index()+bodyOffset] = redirectBody(ru.Target())
	}
	return ro, nil
}

// ruleCount is the route's weight in the cache: its compiled rules (target and
// fallback included); 0 for no route.
func (ro *route) ruleCount() int {
	if ro == nil {
		return 0
	}
	return len(ro.m.Rules())
}

// body is the page of a redirect to location by ru: precomputed for its plain
// target, "" (built on demand) otherwise.
func (ro *route) body(ru *reroute.CompiledRule, location string) string {
	if location != ru.Target() {
		return ""
	}
	return ro.bodies[ru.Index()+bodyOffset]
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
	b.Grow(len(scheme) + len(host) + len(path) + len(query) + 2 + reroute.EscapeGrowth(path) + reroute.EscapeGrowth(query))
	b.WriteString(scheme)
	b.WriteString(host)
	if path == "" || path[0] != '/' {
		b.WriteByte('/')
	}
	reroute.WriteEscaped(&b, path)
	if query != "" {
		b.WriteByte('?')
		reroute.WriteEscaped(&b, query)
	}
	return b.String()
}
