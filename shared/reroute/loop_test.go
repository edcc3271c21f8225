package reroute_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// routeMap finds routes as the redirector does (exact name, then the longest
// wildcard) and counts its lookups.
type routeMap struct {
	routes  map[string]reroute.Route
	lookups int
	fail    error
}

func (m *routeMap) FindRoute(_ context.Context, host string) (reroute.Route, bool, error) {
	m.lookups++
	if m.fail != nil {
		return reroute.Route{}, false, m.fail
	}
	for _, c := range reroute.Candidates(host) {
		if r, ok := m.routes[c]; ok {
			return r, true, nil
		}
	}
	return reroute.Route{}, false, nil
}

func newRouteMap(pairs ...string) *routeMap {
	m := &routeMap{routes: map[string]reroute.Route{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		host, target := pairs[i], pairs[i+1]
		m.routes[host] = reroute.Route{Host: host, Target: target, Enabled: true}
	}
	return m
}

func TestCheckLoop(t *testing.T) {
	t.Parallel()
	// chain of n routes h0 -> h1 -> ... -> h(n-1) -> target
	chain := func(n int, last string) *routeMap {
		m := newRouteMap()
		for i := range n - 1 {
			m.routes[fmt.Sprintf("h%d.example.com", i)] = reroute.Route{Host: fmt.Sprintf("h%d.example.com", i),
				Target: fmt.Sprintf("https://h%d.example.com/", i+1), Enabled: true}
		}
		m.routes[fmt.Sprintf("h%d.example.com", n-1)] = reroute.Route{Host: fmt.Sprintf("h%d.example.com", n-1), Target: last, Enabled: true}
		return m
	}
	tests := []struct {
		name     string
		routes   *routeMap
		route    reroute.Route
		wantText string // "" for accepted
	}{
		{"no route at the target", newRouteMap(), reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, ""},
		{"own host", newRouteMap(), reroute.Route{Host: "a.example.com", Target: "https://a.example.com/x"}, "points back"},
		{"two hops", newRouteMap("b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, "a.example.com -> b.example.com -> a.example.com"},
		{"two hops, kept path and another scheme", newRouteMap("b.example.com", "http://a.example.com:8080/deep"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/p?q=1", KeepPath: true}, "a.example.com -> b.example.com -> a.example.com"},
		{"three hops", newRouteMap("b.example.com", "https://c.example.com/", "c.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, "a.example.com -> b.example.com -> c.example.com -> a.example.com"},
		{"a chain that ends elsewhere", newRouteMap("b.example.com", "https://c.example.com/", "c.example.com", "https://d.example.org/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, ""},
		{"update of a stored route", newRouteMap("a.example.com", "https://old.example.org/", "b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, "a.example.com -> b.example.com -> a.example.com"},
		{"through a wildcard route", newRouteMap("*.b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://x.b.example.com/"}, "a.example.com -> x.b.example.com -> a.example.com"},
		{"back into a wildcard route", newRouteMap("b.example.com", "https://x.w.example.com/"),
			reroute.Route{Host: "*.w.example.com", Target: "https://b.example.com/"}, "*.w.example.com -> b.example.com -> x.w.example.com"},
		{"a more specific route takes the wildcard's host", newRouteMap("b.example.com", "https://x.w.example.com/", "x.w.example.com", "https://d.example.org/"),
			reroute.Route{Host: "*.w.example.com", Target: "https://b.example.com/"}, ""},
		{"a wildcard's own stored route", newRouteMap("*.w.example.com", "https://old.example.org/", "b.example.com", "https://y.w.example.com/"),
			reroute.Route{Host: "*.w.example.com", Target: "https://b.example.com/"}, "*.w.example.com -> b.example.com -> y.w.example.com"},
		{"a disabled route answers no redirect", func() *routeMap {
			m := newRouteMap("b.example.com", "https://a.example.com/")
			r := m.routes["b.example.com"]
			r.Enabled = false
			m.routes["b.example.com"] = r
			return m
		}(), reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, ""},
		{"a paused route answers no redirect", func() *routeMap {
			m := newRouteMap("b.example.com", "https://a.example.com/")
			r := m.routes["b.example.com"]
			r.Paused = true
			m.routes["b.example.com"] = r
			return m
		}(), reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, ""},
		{"a disabled route being saved is still checked", newRouteMap("b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/", Enabled: false}, "a.example.com -> b.example.com"},
		{"a loop elsewhere", newRouteMap("b.example.com", "https://c.example.com/", "c.example.com", "https://b.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"}, ""},
		{"an IP target", newRouteMap(), reroute.Route{Host: "a.example.com", Target: "https://192.0.2.1/"}, ""},
		{"a loop of the longest chain followed", chain(reroute.MaxLoopHops-1, "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://h0.example.com/"}, "-> h6.example.com -> a.example.com"},
		{"a loop beyond the hops followed", chain(reroute.MaxLoopHops, "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", Target: "https://h0.example.com/"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reroute.CheckLoop(context.Background(), tt.routes, tt.route)
			if tt.routes.lookups > reroute.MaxLoopHops {
				t.Errorf("%d lookups, at most %d", tt.routes.lookups, reroute.MaxLoopHops)
			}
			if tt.wantText == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *reroute.Error
			if !errors.As(err, &e) || e.Code != reroute.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "target" ||
				!strings.Contains(e.Fields[0].Message, tt.wantText) {
				t.Fatalf("got %v, want a target field error with %q", err, tt.wantText)
			}
		})
	}
}

// TestCheckLoopRules follows every redirect a route makes: its rules' targets and
// its fallback's, and those of the routes they reach.
func TestCheckLoopRules(t *testing.T) {
	t.Parallel()
	rule := func(source, target string) reroute.PathRule {
		return reroute.PathRule{Source: source, Target: target, Status: 301}
	}
	withRules := func(m *routeMap, host string, rules ...reroute.PathRule) *routeMap {
		r := m.routes[host]
		r.Host, r.Enabled, r.PathRules = host, true, rules
		m.routes[host] = r
		return m
	}
	tests := []struct {
		name      string
		routes    *routeMap
		route     reroute.Route
		wantField string // "" for accepted
		wantText  string
	}{
		{"a rule's target back", newRouteMap("b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", PathRules: []reroute.PathRule{rule("/x", "https://new.example.org/"), rule("/y", "https://b.example.com/y")}},
			"rules[1].target", "a.example.com -> b.example.com -> a.example.com"},
		{"the fallback's target back", newRouteMap("b.example.com", "https://a.example.com/"),
			reroute.Route{Host: "a.example.com", PathRules: []reroute.PathRule{rule("/x", "https://new.example.org/")},
				Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://b.example.com/", Status: 302}},
			"fallback.target", "a.example.com -> b.example.com -> a.example.com"},
		{"back through another route's rule", withRules(newRouteMap(), "b.example.com", rule("/p", "https://new.example.org/"), rule("/q", "https://a.example.com/q")),
			reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"},
			"target", "a.example.com -> b.example.com -> a.example.com"},
		{"back through another route's fallback", func() *routeMap {
			m := withRules(newRouteMap(), "b.example.com", rule("/p", "https://new.example.org/"))
			r := m.routes["b.example.com"]
			r.Fallback = reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://c.example.com/", Status: 301}
			m.routes["b.example.com"] = r
			m.routes["c.example.com"] = reroute.Route{Host: "c.example.com", Target: "https://a.example.com/", Enabled: true}
			return m
		}(), reroute.Route{Host: "a.example.com", PathRules: []reroute.PathRule{rule("/x", "https://b.example.com/z")}},
			"rules[0].target", "a.example.com -> b.example.com -> c.example.com -> a.example.com"},
		{"rules elsewhere that end elsewhere", withRules(newRouteMap(), "b.example.com", rule("/p", "https://new.example.org/"), rule("/q", "https://c.example.org/")),
			reroute.Route{Host: "a.example.com", PathRules: []reroute.PathRule{rule("/x", "https://b.example.com/p"), rule("/y", "https://b.example.com/q")}},
			"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reroute.CheckLoop(context.Background(), tt.routes, tt.route)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *reroute.Error
			if !errors.As(err, &e) || e.Code != reroute.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != tt.wantField ||
				!strings.Contains(e.Fields[0].Message, tt.wantText) {
				t.Fatalf("got %v, want a %s field error with %q", err, tt.wantField, tt.wantText)
			}
		})
	}
}

// TestCheckLoopLookups looks each host up once, however many rules send to it,
// and at most MaxLoopLookups hosts for one route.
func TestCheckLoopLookups(t *testing.T) {
	t.Parallel()
	for _, hosts := range []int{1, 10, reroute.MaxLoopLookups * 3} {
		t.Run(fmt.Sprint(hosts), func(t *testing.T) {
			m := newRouteMap()
			r := reroute.Route{Host: "a.example.com"}
			for i := range 3 * hosts {
				r.PathRules = append(r.PathRules, reroute.PathRule{Source: fmt.Sprintf("/p%d", i),
					Target: fmt.Sprintf("https://h%d.example.org/%d", i%hosts, i), Status: 301})
			}
			if err := reroute.CheckLoop(context.Background(), m, r); err != nil {
				t.Fatal(err)
			}
			if want := min(hosts, reroute.MaxLoopLookups); m.lookups != want {
				t.Fatalf("%d lookups, want %d", m.lookups, want)
			}
		})
	}
}

func TestCheckLoopLookupFails(t *testing.T) {
	t.Parallel()
	m := newRouteMap()
	m.fail = reroute.Errorf(reroute.CodeUnavailable, "store_unavailable", "the database is unavailable")
	err := reroute.CheckLoop(context.Background(), m, reroute.Route{Host: "a.example.com", Target: "https://b.example.com/"})
	if reroute.ErrorCode(err) != reroute.CodeUnavailable {
		t.Fatalf("got %v, want the lookup's failure", err)
	}
}
