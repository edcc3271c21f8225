package reroute

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// MaxLoopHops bounds how far CheckLoop follows targets through other routes: each
// hop is a lookup per host, and a chain longer than this is not a loop of our
// making (a browser gives up after about 20 redirects anyway).
const MaxLoopHops = 8

// MaxLoopLookups bounds the hosts CheckLoop looks up for one route: a route whose
// rules send to thousands of hosts is checked as far as this many reach, nearest
// first, and a loop beyond them goes unseen.
const MaxLoopLookups = 256

// CheckLoop refuses r when one of its redirects leads back to r through routes
// that find knows. r sends to the hosts of its target, its rules' targets and its
// fallback's; the route serving each of those hosts (exact name first, then the
// longest wildcard, as the redirector picks) sends to the hosts of its own, and
// so on, breadth first, up to MaxLoopHops hops. Reaching a host that r itself
// would serve is a loop, whatever the paths: two of the service's hostnames
// cannot send to each other, since a request can always be made that goes round
// (a kept path only grows on each turn), and pointing at the final destination is
// always possible. The chain may pass other orgs' routes: only routes that answer
// with a redirect (enabled, not paused) are followed, so it names nothing a
// request could not find out, and turning a route on is checked when it is saved.
//
// The error is CodeInvalid "validation_failed", with a field error on the first
// field of r whose target starts the chain ("target", "rules[3].target",
// "fallback.target"). Two writes racing to close a loop can both pass.
func CheckLoop(ctx context.Context, find RouteFinder, r Route) error {
	type visit struct {
		host   string
		parent int    // index in seen of the host that sent here; -1 for r's own targets
		field  string // the field of r that starts the chain
	}
	var seen []visit
	index := map[string]bool{}
	enqueue := func(targets []loopTarget, parent int, field string) {
		for _, t := range targets {
			h := redirectHost(t.target)
			if h == "" || index[h] {
				continue
			}
			index[h] = true
			f := field
			if parent < 0 {
				f = t.field
			}
			seen = append(seen, visit{host: h, parent: parent, field: f})
		}
	}
	enqueue(redirectTargets(r, true), -1, "") // a route being saved is checked even switched off
	chainOf := func(i int) []string {
		var rev []string
		for ; i >= 0; i = seen[i].parent {
			rev = append(rev, seen[i].host)
		}
		slices.Reverse(rev)
		return append([]string{r.Host}, rev...)
	}
	for hop, level := 0, 0; hop < MaxLoopHops && level < len(seen); hop++ {
		end := len(seen)
		for i := level; i < end; i++ {
			if i >= MaxLoopLookups {
				return nil
			}
			v := seen[i]
			found, ok, err := find.FindRoute(ctx, v.host)
			if err != nil {
				return err
			}
			// r answers for a host it covers unless a more specific route does (on
			// an update, found may be r as stored).
			if serves(r.Host, v.host) && (!ok || found.Host == r.Host || moreSpecific(v.host, r.Host, found.Host)) {
				return loopError(v.field, chainOf(i))
			}
			if ok {
				enqueue(redirectTargets(found, false), i, v.field)
			}
		}
		level = end
	}
	return nil
}

// loopTarget is one redirect target of a route and the field that holds it.
type loopTarget struct{ target, field string }

// redirectTargets lists what a route redirects to: its target, its rules' and
// its fallback's; none for a route that answers "not configured", unless all.
func redirectTargets(r Route, all bool) []loopTarget {
	if !all && (!r.Enabled || r.Paused) {
		return nil
	}
	var out []loopTarget
	if r.Target != "" {
		out = append(out, loopTarget{r.Target, "target"})
	}
	for i, pr := range r.PathRules {
		out = append(out, loopTarget{pr.Target, fmt.Sprintf("rules[%d].target", i)})
	}
	if r.Fallback.Answer() == FallbackRedirect {
		out = append(out, loopTarget{r.Fallback.Target, "fallback.target"})
	}
	return out
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

func loopError(field string, chain []string) error {
	msg := "the target leads back to this route: " + strings.Join(chain, " -> ") + " would redirect forever"
	if len(chain) == 2 {
		msg = "the target points back at a hostname this route serves: it would redirect forever"
	}
	return &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
		Fields: []FieldError{{Field: field, Message: msg}}}
}
