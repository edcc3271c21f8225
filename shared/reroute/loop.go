package reroute

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// MaxLoopHops bounds how far CheckLoop follows a target through other routes: each
// hop is one lookup, and a chain longer than this is not a loop of our making (a
// browser gives up after about 20 redirects anyway).
const MaxLoopHops = 8

// CheckLoop refuses r when its target leads back to r through routes that find
// knows: r sends to the target's host, the route serving that host (exact name
// first, then the longest wildcard, as the redirector picks) sends to its target's
// host, and so on, up to MaxLoopHops hops. Reaching a host that r itself would
// serve is a loop, whatever the paths (a kept path only grows on each turn). The
// chain may pass other orgs' routes: only routes that answer with a redirect
// (enabled, not paused) are followed, so it names nothing a request could not
// find out, and turning a route on is checked when it is saved.
//
// The error is CodeInvalid "validation_failed", with a field error on "target"
// naming the chain. Two writes racing to close a loop can both pass.
func CheckLoop(ctx context.Context, find RouteFinder, r Route) error {
	chain := []string{r.Host}
	next := r.Target
	for range MaxLoopHops {
		host := redirectHost(next)
		if host == "" {
			return nil
		}
		chain = append(chain, host)
		found, ok, err := find.FindRoute(ctx, host)
		if err != nil {
			return err
		}
		// r answers for a host it covers unless a more specific route does (on
		// an update, found may be r as stored).
		if serves(r.Host, host) && (!ok || found.Host == r.Host || moreSpecific(host, r.Host, found.Host)) {
			return loopError(chain)
		}
		if !ok || slices.Contains(chain[:len(chain)-1], host) {
			return nil // no route, or a loop elsewhere that r is not part of
		}
		next = activeTarget(found)
	}
	return nil
}

// redirectHost is the host of a stored target, "" for one no route can serve (an
// IP literal or an unparsable URL).
func redirectHost(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	h := u.Hostname()
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	return h
}

// activeTarget is the target of a route that answers with a redirect, "" for one
// that answers "not configured".
func activeTarget(r Route) string {
	if !r.Enabled || r.Paused {
		return ""
	}
	return r.Target
}

// serves reports whether a route for routeHost covers a request for host.
func serves(routeHost, host string) bool {
	return routeHost == host || IsWildcard(routeHost) && WildcardMatches(routeHost, host)
}

// moreSpecific reports whether route a beats route b for a request host: the
// earlier of the two among host's Candidates.
func moreSpecific(host, a, b string) bool {
	cands := Candidates(host)
	ia, ib := slices.Index(cands, a), slices.Index(cands, b)
	return ia >= 0 && (ib < 0 || ia < ib)
}

func loopError(chain []string) error {
	msg := "the target leads back to this route: " + strings.Join(chain, " -> ") + " would redirect forever"
	if len(chain) == 2 {
		msg = "the target points back at a hostname this route serves: it would redirect forever"
	}
	return &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
		Fields: []FieldError{{Field: "target", Message: msg}}}
}
