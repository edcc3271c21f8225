package redirect_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// memFinder is a RouteFinder over a map that can be made to fail or stall, to test
// the resolver's cache rules. The store itself is tested against DynamoDB Local.
type memFinder struct {
	mu     sync.Mutex
	routes map[string]reroute.Route
	err    error
	delay  time.Duration
	calls  atomic.Int64
}

func newMemFinder(routes ...reroute.Route) *memFinder {
	f := &memFinder{routes: map[string]reroute.Route{}}
	for _, r := range routes {
		f.put(r)
	}
	return f
}

func (f *memFinder) put(r reroute.Route) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Status == 0 {
		r.Status = 301
	}
	f.routes[r.Host] = r
}

func (f *memFinder) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *memFinder) FindRoute(ctx context.Context, host string) (reroute.Route, bool, error) {
	f.calls.Add(1)
	f.mu.Lock()
	delay, err := f.delay, f.err
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return reroute.Route{}, false, ctx.Err()
		}
	}
	if err != nil {
		return reroute.Route{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range reroute.Candidates(host) {
		if r, ok := f.routes[c]; ok {
			return r, true, nil
		}
	}
	return reroute.Route{}, false, nil
}

var errStoreDown = errors.New("store down")

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func route(host, target string, opts ...func(*reroute.Route)) reroute.Route {
	r := reroute.Route{Host: host, Target: target, Status: 301, Enabled: true, OrgID: "org1"}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func status(s int) func(*reroute.Route) { return func(r *reroute.Route) { r.Status = s } }
func keepPath(r *reroute.Route)         { r.KeepPath = true }
func keepQuery(r *reroute.Route)        { r.KeepQuery = true }
func disabled(r *reroute.Route)         { r.Enabled = false }
func paused(r *reroute.Route)           { r.Paused = true }

func newResolver(f reroute.RouteFinder, c *clock, cfg redirect.Config) *redirect.Resolver {
	if cfg.ServiceHost == "" {
		cfg.ServiceHost = "redirect.dnsreroute.test"
	}
	return redirect.NewResolver(f, cfg, c.now, quietLog())
}

func httpsRedirect(r *reroute.Route) { r.HTTPSRedirect = true }
func hsts(r *reroute.Route)          { r.HSTS = true }

func domain(s reroute.DomainState) func(*reroute.Route) {
	return func(r *reroute.Route) { r.Domain.State = s }
}

var active = domain(reroute.DomainActive)
