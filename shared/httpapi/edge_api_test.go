package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"

	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/edgesync"
	"github.com/dnsreroute/dnsreroute/shared/edgesync/kvsfake"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const testEdgeStoreARN = "arn:aws:cloudfront::123456789012:key-value-store/8aa7c3e1-5d8a-4c1e-9f4b-0c2b9d1e7f10"

// newEdgeAPIEnv is the API of a deployment with a KeyValueStore.
func newEdgeAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	return newAPIEnvWith(t, func(d *httpapi.Deps) { d.Config.EdgeStoreARN = testEdgeStoreARN })
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

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// listedEdges reads the org's routes through the API: each host's edge.
func (e *apiEnv) listedEdges(base, token string) map[string]map[string]any {
	e.t.Helper()
	r := e.do("GET", base, token, nil)
	e.want(r, 200, "")
	out := map[string]map[string]any{}
	for _, it := range r.items() {
		out[it.(map[string]any)["host"].(string)] = edgeOf(e.t, it)
	}
	return out
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
	// Even a record an earlier deployment's sync left does not count without a store.
	if err := e.store.PutEdgeRecord(t.Context(), reroute.EdgeRecord{Host: "www.example.com",
		Status: reroute.EdgeStatus{ServedFrom: "edge", Records: 1, Bytes: 40, SyncedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if got := e.listedEdges(base, alice)["www.example.com"]; !equalJSON(got, want) {
		t.Errorf("listed: edge %v, want %v", got, want)
	}
}

// TestRouteEdgeStatus reads each edge record a sync may leave through the API,
// as the store gives it.
func TestRouteEdgeStatus(t *testing.T) {
	e := newEdgeAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"
	synced := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	const at = "2026-03-01T12:00:05Z"

	tests := []struct {
		host string
		edge reroute.EdgeStatus // as the sync left it; zero: no record
		want map[string]any
	}{
		{"new.example.com", reroute.EdgeStatus{},
			map[string]any{"servedFrom": "pending"}},
		{"edge.example.com", reroute.EdgeStatus{ServedFrom: "edge", Records: 3, Bytes: 214, SyncedAt: synced},
			map[string]any{"servedFrom": "edge", "records": 3.0, "bytes": 214.0, "syncedAt": at}},
		{"big.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "too_large", Records: 1, Bytes: 16, SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "too_large", "records": 1.0, "bytes": 16.0, "syncedAt": at}},
		{"late.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "store_full", Records: 1, Bytes: 17, SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "store_full", "records": 1.0, "bytes": 17.0, "syncedAt": at}},
		{"off.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "not_redirecting", SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "not_redirecting", "syncedAt": at}},
		{"bad.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "invalid", SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "reason": "invalid", "syncedAt": at}},
		// What a newer sync may write and this API does not document.
		{"why.example.com", reroute.EdgeStatus{ServedFrom: "origin", Reason: "moon_phase", SyncedAt: synced},
			map[string]any{"servedFrom": "origin", "syncedAt": at}},
		{"odd.example.com", reroute.EdgeStatus{ServedFrom: "somewhere", SyncedAt: synced},
			map[string]any{"servedFrom": "pending"}},
	}
	for _, tt := range tests {
		r := e.do("POST", base, alice, map[string]any{"host": tt.host, "target": "https://example.org/"})
		e.want(r, 201, "")
		if got := edgeOf(t, r.json); !equalJSON(got, map[string]any{"servedFrom": "pending"}) {
			t.Errorf("%s: a new route's edge is %v, want pending", tt.host, got)
		}
		if tt.edge != (reroute.EdgeStatus{}) {
			if err := e.store.PutEdgeRecord(t.Context(), reroute.EdgeRecord{Host: tt.host, Status: tt.edge}); err != nil {
				t.Fatal(err)
			}
		}
	}
	listed := e.listedEdges(base, alice)
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

// TestRouteEdgeThroughTheSync changes routes through the API, runs the edge sync
// (against DynamoDB Local and the KeyValueStore fake) as the table's stream
// would, and reads where each route is served from through the API.
func TestRouteEdgeThroughTheSync(t *testing.T) {
	e := newEdgeAPIEnv(t)
	fake := kvsfake.New(testEdgeStoreARN)
	t.Cleanup(fake.Close)
	client := kvs.New(kvs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(fake.URL()),
		HTTPClient:   fake.HTTPClient(),
	})
	edgeCfg := edgekvs.Config{PermanentMaxAge: time.Hour, NegativeTTL: 10 * time.Second}
	newSyncer := func(budget int) *edgesync.Syncer {
		s, err := edgesync.New(e.store.WithScanner(e.db), client,
			edgesync.Config{ARN: testEdgeStoreARN, Budget: budget, Edge: edgeCfg}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sync := newSyncer(0)
	syncHosts := func(hosts ...string) {
		t.Helper()
		failed, err := sync.SyncHosts(t.Context(), hosts)
		if err != nil || len(failed) > 0 {
			t.Fatalf("sync %v: %v %v", hosts, failed, err)
		}
	}

	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"
	e.want(e.do("POST", base, alice, map[string]any{"host": "go.example.com", "target": "https://example.org/",
		"rules": []map[string]any{{"source": "/docs", "target": "https://docs.example.org/", "subpath": true}}}), 201, "")
	e.want(e.do("POST", base, alice, map[string]any{"host": "off.example.com", "target": "https://example.org/", "enabled": false}), 201, "")
	e.want(e.do("POST", base, alice, map[string]any{"host": "new.example.com", "target": "https://example.org/"}), 201, "")
	syncHosts("go.example.com", "off.example.com")

	check := func(step string, want map[string]string) {
		t.Helper()
		listed := e.listedEdges(base, alice)
		for host, from := range want {
			r := e.do("GET", base+"/"+host, alice, nil)
			e.want(r, 200, "")
			got := edgeOf(t, r.json)
			if !equalJSON(got, listed[host]) {
				t.Errorf("%s: %s reads %v, lists %v", step, host, got, listed[host])
			}
			where := got["servedFrom"].(string)
			if reason, _ := got["reason"].(string); reason != "" {
				where += "/" + reason
			}
			if where != from {
				t.Errorf("%s: %s is served from %s, want %s (%v)", step, host, where, from, got)
			}
			if where == "pending" {
				continue
			}
			if n, _ := got["records"].(float64); n < 1 {
				t.Errorf("%s: %s has %v records in the store", step, host, got["records"])
			}
			if at, _ := got["syncedAt"].(string); at == "" {
				t.Errorf("%s: %s has no syncedAt", step, host)
			}
		}
	}
	check("first sync", map[string]string{"go.example.com": "edge", "off.example.com": "origin/not_redirecting", "new.example.com": "pending"})
	if r := e.do("GET", base+"/go.example.com", alice, nil); edgeOf(t, r.json)["records"].(float64) < 2 {
		t.Errorf("a route with a rule has %v records at the edge, want its host's and its rule's", edgeOf(t, r.json)["records"])
	}
	if _, ok := fake.Items()["go.example.com"]; !ok {
		t.Errorf("the store lacks go.example.com: %v", fake.Items())
	}

	// Switching routes on and off moves them between the edge and the origin.
	e.want(e.do("PATCH", base+"/off.example.com", alice, map[string]any{"enabled": true}), 200, "")
	e.want(e.do("PATCH", base+"/go.example.com", alice, map[string]any{"enabled": false}), 200, "")
	syncHosts("go.example.com", "off.example.com", "new.example.com")
	check("switched", map[string]string{"go.example.com": "origin/not_redirecting", "off.example.com": "edge", "new.example.com": "edge"})

	// A store with room for one route's records: the oldest goes first, the
	// others are the origin's because the store is full.
	recs, _, _ := edgekvs.Encode(reroute.Route{Host: "off.example.com", Target: "https://example.org/", Status: 301, Enabled: true, HTTPSRedirect: true})
	sync = newSyncer(edgekvs.Size(edgekvs.ConfigRecords(edgeCfg)) + edgekvs.Size(recs) + 3*len("new.example.com0"))
	if _, err := sync.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("full store", map[string]string{"go.example.com": "origin/not_redirecting", "off.example.com": "edge", "new.example.com": "origin/store_full"})
}
