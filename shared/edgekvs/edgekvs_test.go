package edgekvs_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func valid(t testing.TB, r reroute.Route) reroute.Route {
	t.Helper()
	r.OrgID = "org_1"
	if err := (reroute.Rules{}).Normalize(&r); err != nil {
		t.Fatalf("%s: %v", r.Host, err)
	}
	return r
}

func TestEncode(t *testing.T) {
	active := reroute.Domain{State: reroute.DomainActive}
	tests := []struct {
		name   string
		route  reroute.Route
		want   []edgekvs.Record
		reason string
	}{
		{
			name:  "whole host",
			route: reroute.Route{Host: "old.example.com", Target: "https://new.example.com/", Enabled: true},
			want:  []edgekvs.Record{{"old.example.com", `[0,0,[301,0,"https://new.example.com/"],0]`}},
		},
		{
			name: "keep path and query, https upgrade and hsts on an active domain",
			route: reroute.Route{Host: "*.old.example.com", Target: "https://new.example.com/base?a=1&b=2", Status: 308, KeepPath: true, KeepQuery: true,
				Enabled: true, HTTPSRedirect: true, HSTS: true, Domain: active},
			want: []edgekvs.Record{{"*.old.example.com", `[3,0,[308,3,"https://new.example.com/base?a=1&b=2"],0]`}},
		},
		{
			name:  "no upgrade before the domain is active",
			route: reroute.Route{Host: "a.example.com", Target: "https://b.example.com", KeepPath: true, Enabled: true, HTTPSRedirect: true},
			// the redirector splices a path into "https://b.example.com/", which a plain split would not give
			want: []edgekvs.Record{{"a.example.com", `[0,0,[301,1,"https://b.example.com","https://b.example.com/","",""],0]`}},
		},
		{
			name: "rules, options and a gone fallback",
			route: reroute.Route{Host: "site.example", Enabled: true, PathOptions: reroute.PathOptions{IgnoreCase: true, IgnoreTrailingSlash: true},
				Fallback: reroute.Fallback{Kind: reroute.FallbackGone},
				PathRules: []reroute.PathRule{
					{Source: "/Contact/", Target: "https://new.example/contact"},
					{Source: "/docs", Target: "https://new.example/manual", Subpath: true, KeepSuffix: true, Status: 302},
					{Source: "/caf%c3%a9", Target: "https://new.example/cafe", KeepQuery: true},
				}},
			want: []edgekvs.Record{
				{"site.example", `[60,10,0,1]`},
				{"site.example|e/contact", `[301,0,"https://new.example/contact"]`},
				{"site.example|s/docs", `[302,1,"https://new.example/manual"]`},
				{"site.example|e/caf%C3%A9", `[301,2,"https://new.example/cafe"]`},
			},
		},
		{
			name: "a subpath rule on / is the root; a fallback redirect",
			route: reroute.Route{Host: "root.example", Enabled: true,
				Fallback:  reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://lost.example/", Status: 302},
				PathRules: []reroute.PathRule{{Source: "/", Target: "https://r.example/", Subpath: true}, {Source: "/a", Target: "https://a.example/"}}},
			want: []edgekvs.Record{
				{"root.example", `[48,2,[301,0,"https://r.example/"],[302,0,"https://lost.example/"]]`},
				{"root.example|e/a", `[301,0,"https://a.example/"]`},
			},
		},
		{
			name:   "disabled",
			route:  reroute.Route{Host: "off.example", Target: "https://t.example/"},
			want:   []edgekvs.Record{{"off.example", "0"}},
			reason: edgekvs.ReasonNotRedirecting,
		},
		{
			name:   "paused",
			route:  reroute.Route{Host: "p.example", Target: "https://t.example/", Enabled: true, Paused: true},
			want:   []edgekvs.Record{{"p.example", "0"}},
			reason: edgekvs.ReasonNotRedirecting,
		},
		{
			name:   "a value over 1 KB",
			route:  reroute.Route{Host: "long.example", Target: "https://t.example/" + strings.Repeat("a", 1100), Enabled: true},
			want:   []edgekvs.Record{{"long.example", "0"}},
			reason: edgekvs.ReasonTooLarge,
		},
		{
			name: "a key over 512 bytes",
			route: reroute.Route{Host: "long.example", Enabled: true,
				PathRules: []reroute.PathRule{{Source: "/" + strings.Repeat("b", 600), Target: "https://t.example/"}}},
			want:   []edgekvs.Record{{"long.example", "0"}},
			reason: edgekvs.ReasonTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := valid(t, tc.route)
			got, reason, ok := edgekvs.Encode(r)
			if reason != tc.reason || ok != (tc.reason == "") {
				t.Errorf("reason %q ok %v, want %q", reason, ok, tc.reason)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("records\n got %q\nwant %q", got, tc.want)
			}
			for _, rec := range got {
				if h := edgekvs.HostOf(rec.Key); h != r.Host {
					t.Errorf("HostOf(%q) = %q", rec.Key, h)
				}
				if !json.Valid([]byte(rec.Value)) {
					t.Errorf("value %q is not JSON", rec.Value)
				}
			}
		})
	}
}

func TestRouteBudget(t *testing.T) {
	r := reroute.Route{Host: "big.example", Enabled: true}
	for i := range 1000 {
		r.PathRules = append(r.PathRules, reroute.PathRule{Source: fmt.Sprintf("/some/old/page-%d", i), Target: fmt.Sprintf("https://new.example/a/rather/long/path/page-%d", i)})
	}
	if recs, reason, ok := edgekvs.Encode(valid(t, r)); ok || reason != edgekvs.ReasonTooLarge || len(recs) != 1 {
		t.Errorf("1000 rules: ok %v reason %q, %d records", ok, reason, len(recs))
	}
}

func TestConfigAndHostOf(t *testing.T) {
	recs := edgekvs.ConfigRecords(edgekvs.Config{PermanentMaxAge: time.Hour, NegativeTTL: 10 * time.Second})
	if fmt.Sprint(recs) != fmt.Sprint([]edgekvs.Record{{"|config", "[1,3600,10]"}}) {
		t.Errorf("config records %q", recs)
	}
	for key, want := range map[string]string{"|config": "", "a.example": "a.example", "*.a.example": "*.a.example", "a.example|s/x|y": "a.example"} {
		if got := edgekvs.HostOf(key); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", key, got, want)
		}
	}
	if _, err := reroute.NormalizeHost(edgekvs.ConfigKey); err == nil {
		t.Error("the config key is a valid hostname")
	}
}

// typical builds a whole-host route (rules == 0) or one with n rules of
// ordinary length.
func typical(t testing.TB, i, rules int, created time.Time) reroute.Route {
	r := reroute.Route{Host: fmt.Sprintf("www.customer-%d.com", i), Enabled: true, HTTPSRedirect: true, HSTS: true,
		Domain: reroute.Domain{State: reroute.DomainActive}, CreatedAt: created}
	if rules == 0 {
		r.Target, r.KeepPath, r.KeepQuery = fmt.Sprintf("https://www.newbrand-%d.com/", i), true, true
	}
	for j := range rules {
		r.PathRules = append(r.PathRules, reroute.PathRule{Source: fmt.Sprintf("/products/item-%d", j),
			Target: fmt.Sprintf("https://www.newbrand-%d.com/shop/item-%d", i, j), Status: 308})
	}
	return valid(t, r)
}

// TestBytesPerRoute reports what typical routes cost in the store.
func TestBytesPerRoute(t *testing.T) {
	for _, n := range []int{0, 10, 100} {
		recs, _, ok := edgekvs.Encode(typical(t, 1234, n, time.Time{}))
		if !ok {
			t.Fatalf("%d rules: not at the edge", n)
		}
		size := edgekvs.Size(recs)
		t.Logf("route with %3d rules: %2d records, %5d bytes; %7d such routes per 5 MB store", n, len(recs), size, edgekvs.StoreBytes/size)
		if n == 0 && size > 100 {
			t.Errorf("a whole-host route takes %d bytes", size)
		}
	}
}

func TestSelect(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	route := func(i int, days int) reroute.Route { return typical(t, i, 0, t0.AddDate(0, 0, days)) }
	one, _, _ := edgekvs.Encode(route(0, 0))
	per := edgekvs.Size(one)
	ph := edgekvs.Size([]edgekvs.Record{edgekvs.Placeholder(one[0].Key)})
	cands := []edgekvs.Candidate{
		{Route: route(1, 5)},             // free, newest
		{Route: route(2, 3), Paid: true}, // paid, newer
		{Route: route(3, 4)},             // free, older
		{Route: route(4, 1), Paid: true}, // paid, oldest
		{Route: func() reroute.Route { r := route(5, 0); r.Enabled = false; return r }()},
	}
	// Room for every placeholder and three whole routes.
	budget := 5*ph + 3*(per-ph)
	got := edgekvs.Select(cands, budget)
	want := []struct{ from, reason string }{
		{reroute.ServedByOrigin, edgekvs.ReasonStoreFull},
		{reroute.ServedAtEdge, ""},
		{reroute.ServedAtEdge, ""},
		{reroute.ServedAtEdge, ""},
		{reroute.ServedByOrigin, edgekvs.ReasonNotRedirecting},
	}
	total := 0
	for i, s := range got {
		if s.Host != cands[i].Route.Host || s.Edge.ServedFrom != want[i].from || s.Edge.Reason != want[i].reason {
			t.Errorf("%d %s: %+v, want %v", i, s.Host, s.Edge, want[i])
		}
		if s.Edge.Bytes != edgekvs.Size(s.Records) || s.Edge.Records != len(s.Records) || s.Records[0].Key != s.Host {
			t.Errorf("%s: %+v for %q", s.Host, s.Edge, s.Records)
		}
		total += edgekvs.Size(s.Records)
	}
	if total > budget {
		t.Errorf("%d bytes selected for a budget of %d", total, budget)
	}
	// A budget too small for any route still holds every placeholder.
	for _, s := range edgekvs.Select(cands, 0) {
		if s.Edge.ServedFrom != reroute.ServedByOrigin || len(s.Records) != 1 || s.Records[0].Value != "0" {
			t.Errorf("no room: %s %+v %q", s.Host, s.Edge, s.Records)
		}
	}
}

func TestWriteImportFile(t *testing.T) {
	var b bytes.Buffer
	recs := []edgekvs.Record{{"b.example", "0"}, {"a.example|e/x", `[301,0,"https://t/?a=1&b=<2>"]`}, {"a.example", "[0,0,0,0]"}}
	if err := edgekvs.WriteImportFile(&b, recs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data []struct{ Key, Value string } `json:"data"`
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(doc.Data)
	if want := "[{a.example [0,0,0,0]} {a.example|e/x [301,0,\"https://t/?a=1&b=<2>\"]} {b.example 0}]"; got != want {
		t.Errorf("import file %s, want %s", got, want)
	}
	if err := edgekvs.WriteImportFile(&b, append(recs, edgekvs.Record{"a.example", "0"})); err == nil {
		t.Error("two records with one key were written")
	}
}
