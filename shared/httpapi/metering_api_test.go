package httpapi_test

import (
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestRouteChecksMetered: DNS checks are counted in DynamoDB per route and per
// org, in fixed windows of the injected clock; past a limit the answer is 429
// rate_limited with Retry-After the rest of the window, and other routes and orgs
// are not affected.
func TestRouteChecksMetered(t *testing.T) {
	clk := &clock{t: time.Date(2030, 1, 2, 12, 0, 5, 0, time.UTC)}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		d.Now = clk.Now
		d.Config.RouteChecks = reroute.Rate{Max: 2, Window: 10 * time.Second}
		d.Config.OrgChecks = reroute.Rate{Max: 3, Window: time.Minute}
	})
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", reroute.PlanDeveloper)
	bob := e.token("bob@example.com")
	bobOrg := e.newOrg("bob@example.com", "Bob")
	base := "/v1/orgs/" + org + "/routes/"
	for _, h := range []string{"a.example.com", "b.example.com"} {
		e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": h, "target": "https://example.org/"}), 201, "")
	}
	e.want(e.do("POST", "/v1/orgs/"+bobOrg+"/routes", bob, map[string]any{"host": "c.example.com", "target": "https://example.org/"}), 201, "")
	limited := func(r resp, retryAfter string) {
		t.Helper()
		e.want(r, 429, "rate_limited")
		if got := r.header.Get("Retry-After"); got != retryAfter {
			t.Errorf("Retry-After %q, want %q", got, retryAfter)
		}
	}

	e.want(e.do("POST", base+"a.example.com/check", alice, nil), 200, "")
	e.want(e.do("POST", base+"a.example.com/check", alice, nil), 200, "")
	limited(e.do("POST", base+"a.example.com/check", alice, nil), "5") // the route's window ends at 12:00:10
	e.want(e.do("POST", base+"b.example.com/check", alice, nil), 200, "")
	limited(e.do("POST", base+"b.example.com/check", alice, nil), "55") // the org's at 12:01:00
	e.want(e.do("POST", "/v1/orgs/"+bobOrg+"/routes/c.example.com/check", bob, nil), 200, "")
	// A check of no route of the org costs nothing and is not metered.
	e.want(e.do("POST", base+"nothing.example.com/check", alice, nil), 404, "route_not_found")

	clk.Add(55 * time.Second) // 12:01:00: new windows for both
	e.want(e.do("POST", base+"a.example.com/check", alice, nil), 200, "")
}

// TestRouteChecksMeteredByDefault: without configured limits, a route may be
// checked 3 times in its window.
func TestRouteChecksMeteredByDefault(t *testing.T) {
	clk := &clock{t: time.Date(2030, 1, 2, 12, 0, 1, 0, time.UTC)}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		d.Now = clk.Now
		d.Config.RouteChecks, d.Config.OrgChecks = reroute.Rate{}, reroute.Rate{}
	})
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	e.want(e.do("POST", "/v1/orgs/"+org+"/routes", alice, map[string]any{"host": "a.example.com", "target": "https://example.org/"}), 201, "")
	for range 3 {
		e.want(e.do("POST", "/v1/orgs/"+org+"/routes/a.example.com/check", alice, nil), 200, "")
	}
	r := e.do("POST", "/v1/orgs/"+org+"/routes/a.example.com/check", alice, nil)
	e.want(r, 429, "rate_limited")
	if got := r.header.Get("Retry-After"); got != "29" {
		t.Errorf("Retry-After %q, want 29", got)
	}
}
