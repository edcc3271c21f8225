package httpapi_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const testEdgeStoreARN = "arn:aws:cloudfront::123456789012:key-value-store/8aa7c3e1-5d8a-4c1e-9f4b-0c2b9d1e7f10"

// edgeOverlay is the real store with the edge sync's verdicts laid over the
// routes it reads, as the sync leaves them on a route's edge record.
type edgeOverlay struct {
	reroute.RouteStore
	mu    sync.Mutex
	edges map[string]reroute.EdgeStatus
}

func (o *edgeOverlay) set(host string, e reroute.EdgeStatus) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.edges[host] = e
}

func (o *edgeOverlay) lay(r reroute.Route) reroute.Route {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e, ok := o.edges[r.Host]; ok {
		r.Edge = e
	}
	return r
}

func (o *edgeOverlay) GetRoute(ctx context.Context, host string) (reroute.Route, error) {
	r, err := o.RouteStore.GetRoute(ctx, host)
	return o.lay(r), err
}

func (o *edgeOverlay) ListRoutes(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Route], error) {
	p, err := o.RouteStore.ListRoutes(ctx, orgID, page)
	for i := range p.Items {
		p.Items[i] = o.lay(p.Items[i])
	}
	return p, err
}

// edgeOf decodes a route's edge object.
func edgeOf(t *testing.T, route any) map[string]any {
	t.Helper()
	m, _ := route.(map[string]any)
	e, ok := m["edge"].(map[string]any)
	if !ok {
		b, _ := json.Marshal(route)
		t.Fatalf("route without edge: %s", b)
	}
	return e
}

func TestRouteEdgeWithoutAStore(t *testing.T) {
	e := newAPIEnv(t) // no EdgeStoreARN, as in the local stack
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	base := "/v1/orgs/" + org + "/routes"

	r := e.do("POST", base, alice, map[string]any{"host": "www.example.com", "target": "https://example.org/"})
	e.want(r, 201, "")
	want := map[string]any{"servedFrom": "origin", "reason": "edge_disabled"}
	if got := edgeOf(t, r.json); !equalJSON(got, want) {
		t.Errorf("created: edge %v, want %v", got, want)
	}
	r = e.do("GET", base, alice, nil)
	e.want(r, 200, "")
	if got := edgeOf(t, r.items()[0]); !equalJSON(got, want) {
		t.Errorf("listed: edge %v, want %v", got, want)
	}
}

func TestRouteEdgeStatus(t *testing.T) {
	overlay := &edgeOverlay{edges: map[string]reroute.EdgeStatus{}}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		d.Config.EdgeStoreARN = testEdgeStoreARN
		overlay.RouteStore = d.Routes
		d.Routes = overlay
	})
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"
	synced := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)

	tests := []struct {
		host string
		edge reroute.EdgeStatus // as the sync left it
		want map[string]any
	}{
		{"new.example.com", reroute.EdgeStatus{},
			map[string]any{"servedFrom": "pending"}},
		{"edge.example.com", reroute.EdgeStatus{ServedFrom: "edge", Records: 3, Bytes: 214, SyncedAt: synced},
			map[string]any{"servedFrom": "edge", "records": 3.0, "bytes": 214.0, "syncedAt": "2026-03-01T12:00:05Z"}},
		{"big.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "too_large", Records: 900, Bytes: 240000, SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "too_large", "records": 900.0, "bytes": 240000.0, "syncedAt": "2026-03-01T12:00:05Z"}},
		{"late.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "store_full", SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "store_full", "syncedAt": "2026-03-01T12:00:05Z"}},
		{"off.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "not_redirecting", SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "not_redirecting", "syncedAt": "2026-03-01T12:00:05Z"}},
		{"odd.example.com", reroute.EdgeStatus{ServedFrom: "somewhere", SyncedAt: synced},
			map[string]any{"servedFrom": "pending"}},
	}
	for _, tt := range tests {
		r := e.do("POST", base, alice, map[string]any{"host": tt.host, "target": "https://example.org/"})
		e.want(r, 201, "")
		if got := edgeOf(t, r.json); !equalJSON(got, map[string]any{"servedFrom": "pending"}) {
			t.Errorf("%s: a new route's edge is %v, want pending", tt.host, got)
		}
		overlay.set(tt.host, tt.edge)
	}
	r := e.do("GET", base, alice, nil)
	e.want(r, 200, "")
	listed := map[string]map[string]any{}
	for _, it := range r.items() {
		listed[it.(map[string]any)["host"].(string)] = edgeOf(t, it)
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := e.do("GET", base+"/"+tt.host, alice, nil)
			e.want(r, 200, "")
			if got := edgeOf(t, r.json); !equalJSON(got, tt.want) {
				t.Errorf("read: edge %v, want %v", got, tt.want)
			}
			if got := listed[tt.host]; !equalJSON(got, tt.want) {
				t.Errorf("listed: edge %v, want %v", got, tt.want)
			}
		})
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
