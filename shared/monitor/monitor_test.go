package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/monitor"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
)

// site is a destination that can go down: HEAD is refused (405), so every
// probe falls back to GET; /old redirects twice before landing.
type site struct {
	down      atomic.Bool
	gets      atomic.Int32
	userAgent atomic.Value
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.userAgent.Store(r.Header.Get("User-Agent"))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	s.gets.Add(1)
	switch {
	case s.down.Load():
		w.WriteHeader(http.StatusBadGateway)
	case r.URL.Path == "/old":
		http.Redirect(w, r, "/older", http.StatusMovedPermanently)
	case r.URL.Path == "/older":
		http.Redirect(w, r, "/", http.StatusFound)
	default:
		_, _ = io.WriteString(w, "ok")
	}
}

func newOrg(t *testing.T, s *dynamo.Store, id, plan string) {
	t.Helper()
	p, _ := reroute.DefaultCatalog().Get(plan)
	if err := s.CreateOrg(context.Background(), reroute.Org{ID: id, Name: id, Plan: plan, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit,
		RuleLimit: p.RuleLimit}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
}

// TestMonitorDownAndBack: a destination that goes down is broken after three
// failed probes and recovered at the first success, each told once; a free
// org's destination is never probed.
func TestMonitorDownAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	paid, free := &site{}, &site{}
	paidSrv, freeSrv := httptest.NewServer(paid), httptest.NewServer(free)
	defer paidSrv.Close()
	defer freeSrv.Close()
	newOrg(t, store, "paid", reroute.PlanDeveloper)
	newOrg(t, store, "free", reroute.PlanFree)
	for _, r := range []reroute.Route{
		{Host: "shop.example.com", OrgID: "paid", Target: paidSrv.URL + "/old", Status: 301, Enabled: true},
		{Host: "blog.example.com", OrgID: "free", Target: freeSrv.URL + "/", Status: 301, Enabled: true},
	} {
		if err := store.CreateRoute(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	client5 := safehttp.Guard{AllowLoopback: true}.Client(safehttp.ClientOptions{Timeout: 10 * time.Second, MaxRedirects: 5})
	m := &monitor.Monitor{Orgs: store.WithScanner(client), Routes: store, Store: store, Plans: reroute.DefaultCatalog(),
		Probe: monitor.Prober{Client: client5, Timeout: 5 * time.Second}.Probe, Budget: 100, RulesPerRoute: 2,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := func(want reroute.DestinationState) reroute.Destination {
		t.Helper()
		if _, err := m.Run(ctx); err != nil {
			t.Fatal(err)
		}
		d, err := store.GetDestination(ctx, "shop.example.com")
		if err != nil {
			t.Fatal(err)
		}
		if d.State != want {
			t.Fatalf("state %q (%+v), want %q", d.State, d, want)
		}
		return d
	}
	run(reroute.DestinationOK)
	paid.down.Store(true)
	run(reroute.DestinationOK)
	run(reroute.DestinationOK)
	d := run(reroute.DestinationBroken)
	if d.LastError != "HTTP 502" || d.Failures != 3 {
		t.Errorf("broken: %+v, want HTTP 502 after 3 failures", d)
	}
	run(reroute.DestinationBroken)
	paid.down.Store(false)
	if d := run(reroute.DestinationOK); d.LastError != "" || d.Failures != 0 {
		t.Errorf("recovered: %+v", d)
	}

	evs, err := dynamo.ScanEvents(ctx, client, table, "paid")
	if err != nil {
		t.Fatal(err)
	}
	var types []reroute.EventType
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if want := []reroute.EventType{reroute.EventRouteCreated, reroute.EventDestinationBroken, reroute.EventDestinationRecovered}; !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	if free.gets.Load() != 0 {
		t.Errorf("the free org's destination was probed %d times", free.gets.Load())
	}
	if ua, _ := paid.userAgent.Load().(string); !strings.Contains(ua, "DNSReRoute") || !strings.Contains(ua, "https://") {
		t.Errorf("User-Agent %q: want the service's name and a page that explains it", ua)
	}
}

// TestMonitorBudget: a run stops at its budget.
func TestMonitorBudget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	srv := httptest.NewServer(&site{})
	defer srv.Close()
	newOrg(t, store, "paid", reroute.PlanDeveloper)
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		if err := store.CreateRoute(ctx, reroute.Route{Host: h, OrgID: "paid", Target: srv.URL + "/", Status: 301, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	var probes atomic.Int32
	m := &monitor.Monitor{Orgs: store.WithScanner(client), Routes: store, Store: store, Plans: reroute.DefaultCatalog(),
		Probe: func(context.Context, string) string { probes.Add(1); return "" }, Budget: 2,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	rep, err := m.Run(ctx)
	if err != nil || !rep.OutOfBudget || rep.Probed != 2 || probes.Load() != 2 {
		t.Fatalf("report %+v, %v, %d probes; want 2 and out of budget", rep, err, probes.Load())
	}
}

// TestMonitorOutOfTime: a run stops before its deadline rather than start a
// route it cannot finish, and probes cut short by the run's own end are not
// recorded, so they can never make a destination broken.
func TestMonitorOutOfTime(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	newOrg(t, store, "paid", reroute.PlanDeveloper)
	for _, h := range []string{"a.example.com", "b.example.com"} {
		if err := store.CreateRoute(context.Background(), reroute.Route{Host: h, OrgID: "paid", Target: "https://target.example.net/", Status: 301, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Less time left than the reserve: nothing is probed.
	var probes atomic.Int32
	m := &monitor.Monitor{Orgs: store.WithScanner(client), Routes: store, Store: store, Plans: reroute.DefaultCatalog(),
		Probe: func(context.Context, string) string { probes.Add(1); return "" }, Budget: 10,
		Reserve: time.Hour, Now: time.Now, Log: quiet}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := m.Run(ctx)
	if err != nil || !rep.OutOfTime || probes.Load() != 0 {
		t.Fatalf("report %+v, %v, %d probes; want none and out of time", rep, err, probes.Load())
	}

	// The deadline passes during a probe, which fails for it: not recorded.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	m.Reserve = 0
	m.Probe = func(context.Context, string) string { cancel(); return "context canceled" }
	rep, err = m.Run(ctx)
	if err != nil || !rep.OutOfTime {
		t.Fatalf("report %+v, %v; want out of time and no error", rep, err)
	}
	for _, h := range []string{"a.example.com", "b.example.com"} {
		if d, err := store.GetDestination(context.Background(), h); err != nil || d.State != "" || d.Failures != 0 {
			t.Fatalf("%s after a run cut short: %+v %v", h, d, err)
		}
	}
}

// TestProberRefusesPrivateAddresses: the deployed guard (no loopback) refuses
// a target on loopback, and says so.
func TestProberRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&site{})
	defer srv.Close()
	p := monitor.Prober{Client: safehttp.Guard{}.Client(safehttp.ClientOptions{Timeout: 5 * time.Second, MaxRedirects: 5}), Timeout: 5 * time.Second}
	if msg := p.Probe(context.Background(), srv.URL); !strings.Contains(msg, "not a public address") {
		t.Errorf("probe of a loopback target: %q", msg)
	}
}
