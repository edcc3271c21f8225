package httpapi_test

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// obj is a JSON object inside an answer ("domain", "ownershipRecord", ...).
func (r resp) obj(key string) map[string]any { m, _ := r.json[key].(map[string]any); return m }

// records returns an answer's "dnsRecords".
func (r resp) records() []map[string]any {
	var out []map[string]any
	list, _ := r.json["dnsRecords"].([]any)
	for _, v := range list {
		m, _ := v.(map[string]any)
		out = append(out, m)
	}
	return out
}

// wantOwnershipRecord fails the test unless rec is org's ownership record for host.
func wantOwnershipRecord(t *testing.T, rec map[string]any, org, host string) {
	t.Helper()
	want := reroute.OwnershipRecord(org, host)
	if rec["type"] != "TXT" || rec["name"] != "_dnsreroute."+host || rec["name"] != want.Name ||
		rec["value"] != want.Value || rec["purpose"] != "ownership" {
		t.Errorf("ownership record %v, want %+v", rec, want)
	}
}

func TestRouteDomainAndHTTPSSettings(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"

	t.Run("defaults", func(t *testing.T) {
		const host = "www.defaults.example.com"
		r := e.do("POST", base, alice, map[string]any{"host": host, "target": "https://example.org/"})
		e.want(r, 201, "")
		if r.json["httpsRedirect"] != true || r.json["hsts"] != false {
			t.Errorf("httpsRedirect %v, hsts %v; want true and false by default", r.json["httpsRedirect"], r.json["hsts"])
		}
		// On the local edge a hostname is served, and so verified, at once.
		d := r.obj("domain")
		if d["state"] != "active" || d["verified"] != true || d["reason"] != "" {
			t.Errorf("domain %v, want active and verified", d)
		}
		if _, ok := d["releaseAt"]; ok {
			t.Errorf("a verified domain has no releaseAt: %v", d)
		}
		if _, ok := d["checkedAt"]; !ok {
			t.Errorf("the domain was looked at on creation but has no checkedAt: %v", d)
		}
		recs := r.records()
		if len(recs) != 1 || recs[0]["type"] != "CNAME" || recs[0]["name"] != host || recs[0]["value"] != cnameTarget || recs[0]["purpose"] != "routing" {
			t.Errorf("dnsRecords %v, want the routing CNAME only", recs)
		}
		wantOwnershipRecord(t, r.obj("ownershipRecord"), org, host)

		g := e.do("GET", base+"/"+host, alice, nil)
		e.want(g, 200, "")
		if g.obj("domain")["state"] != "active" || g.obj("domain")["verified"] != true {
			t.Errorf("GET domain %v", g.obj("domain"))
		}
		wantOwnershipRecord(t, g.obj("ownershipRecord"), org, host)
	})

	type settings struct{ httpsRedirect, hsts bool }
	tests := []struct {
		name   string
		create map[string]any // settings given on creation
		made   settings       // as created
		patch  map[string]any
		after  settings // after the patch
	}{
		{"no upgrade", map[string]any{"httpsRedirect": false}, settings{false, false},
			map[string]any{"httpsRedirect": true}, settings{true, false}},
		{"hsts", map[string]any{"hsts": true}, settings{true, true},
			map[string]any{"hsts": false}, settings{true, false}},
		{"both given", map[string]any{"httpsRedirect": false, "hsts": true}, settings{false, true},
			map[string]any{"httpsRedirect": true, "hsts": false}, settings{true, false}},
		{"both patched on", map[string]any{"httpsRedirect": false}, settings{false, false},
			map[string]any{"httpsRedirect": true, "hsts": true}, settings{true, true}},
		{"both patched off", map[string]any{}, settings{true, false},
			map[string]any{"httpsRedirect": false, "hsts": false}, settings{false, false}},
		{"other fields keep them", map[string]any{"httpsRedirect": false, "hsts": true}, settings{false, true},
			map[string]any{"status": 302}, settings{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := strings.ReplaceAll(tt.name, " ", "-") + ".settings.example.com"
			body := map[string]any{"host": host, "target": "https://example.org/"}
			for k, v := range tt.create {
				body[k] = v
			}
			check := func(what string, r resp, want settings) {
				t.Helper()
				if r.json["httpsRedirect"] != want.httpsRedirect || r.json["hsts"] != want.hsts {
					t.Errorf("%s: httpsRedirect %v, hsts %v; want %v and %v", what, r.json["httpsRedirect"], r.json["hsts"], want.httpsRedirect, want.hsts)
				}
			}
			r := e.do("POST", base, alice, body)
			e.want(r, 201, "")
			check("created", r, tt.made)
			r = e.do("GET", base+"/"+host, alice, nil)
			e.want(r, 200, "")
			check("GET after creation", r, tt.made)
			r = e.do("PATCH", base+"/"+host, alice, tt.patch)
			e.want(r, 200, "")
			check("patched", r, tt.after)
			r = e.do("GET", base+"/"+host, alice, nil)
			e.want(r, 200, "")
			check("GET after the patch", r, tt.after)
			if r.obj("domain")["state"] != "active" {
				t.Errorf("a patch changed the domain: %v", r.obj("domain"))
			}
		})
	}

	t.Run("bad types", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         map[string]any
			field        string
		}{
			{"POST", base, map[string]any{"host": "types.example.com", "target": "https://example.org/", "httpsRedirect": "yes"}, "httpsRedirect"},
			{"POST", base, map[string]any{"host": "types.example.com", "target": "https://example.org/", "hsts": 1}, "hsts"},
			{"POST", base, map[string]any{"host": "types.example.com", "target": "https://example.org/", "claim": "true"}, "claim"},
			{"PATCH", base + "/www.defaults.example.com", map[string]any{"hsts": "on"}, "hsts"},
			{"PATCH", base + "/www.defaults.example.com", map[string]any{"claim": true}, "claim"},
		} {
			r := e.do(tc.method, tc.path, alice, tc.body)
			e.want(r, 400, "validation_failed")
			if !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
				t.Errorf("%s %v: the problem does not name %s: %s", tc.method, tc.body, tc.field, r.body)
			}
		}
	})
}

func TestRouteCheck(t *testing.T) {
	e := newAPIEnv(t)
	alice := e.token("alice@example.com")
	org := e.newPaidOrg("alice@example.com", "developer")
	base := "/v1/orgs/" + org + "/routes"
	e.want(e.do("POST", "/v1/orgs/"+org+"/members", alice, map[string]any{"email": "carol@example.com", "role": "member"}), 201, "")
	carol := e.token("carol@example.com")
	readKey := e.do("POST", "/v1/orgs/"+org+"/api-keys", alice, map[string]any{"name": "read", "scope": "read"}).str("secret")
	bob := e.token("bob@example.com")
	bobOrg := e.newOrg("bob@example.com", "B")
	e.want(e.do("POST", "/v1/orgs/"+bobOrg+"/routes", bob, map[string]any{"host": "bob.example.com", "target": "https://example.org/"}), 201, "")

	const host = "www.check.example.com"
	e.want(e.do("POST", base, alice, map[string]any{"host": host, "target": "https://example.org/"}), 201, "")
	e.dns.Set(t, cnameTarget+". 60 IN A 192.0.2.10")

	findingCodes := func(r resp) map[string]string {
		t.Helper()
		out := map[string]string{}
		list, _ := r.json["findings"].([]any)
		for _, f := range list {
			m := f.(map[string]any)
			out[m["code"].(string)] = m["level"].(string)
		}
		return out
	}

	// No DNS record for the host yet.
	r := e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	if r.json["ok"] != false || findingCodes(r)["name_not_found"] != "error" {
		t.Errorf("a host without DNS: %s", r.body)
	}
	if rt := r.obj("route"); rt["host"] != host {
		t.Errorf("the check's route is %v", rt["host"])
	}
	if got := r.json["findings"].([]any)[0].(map[string]any)["level"]; got != "error" {
		t.Errorf("the first finding is %v: errors come first", got)
	}

	// The CNAME in place.
	e.dns.Set(t, host+". 60 IN CNAME "+cnameTarget+".")
	r = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	codes := findingCodes(r)
	if r.json["ok"] != true || codes["cname_ok"] != "ok" || codes["edge_dns_ok"] != "ok" {
		t.Errorf("a host with its CNAME: %s", r.body)
	}
	for code, level := range codes {
		if level == "error" {
			t.Errorf("an error finding %s with the CNAME in place: %s", code, r.body)
		}
	}
	d := r.obj("route")["domain"].(map[string]any)
	if d["state"] != "active" || d["verified"] != true || d["checkedAt"] == nil {
		t.Errorf("the route after the check: %v", d)
	}

	for _, tc := range []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"a member reads", base + "/" + host + "/check", carol, 200, ""},
		{"a read key", base + "/" + host + "/check", readKey, 200, ""},
		{"the host in another case", base + "/WWW.Check.Example.com/check", alice, 200, ""},
		{"no such route", base + "/nothing.example.com/check", alice, 404, "route_not_found"},
		{"another org's route", base + "/bob.example.com/check", alice, 404, "route_not_found"},
		{"another org", "/v1/orgs/" + org + "/routes/" + host + "/check", bob, 404, "org_not_found"},
		{"unauthenticated", base + "/" + host + "/check", "", 401, "missing_token"},
		{"GET is not allowed", base + "/" + host + "/check", alice, 405, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if strings.HasPrefix(tc.name, "GET") {
				method = "GET"
			}
			r := e.do(method, tc.path, tc.token, nil)
			e.want(r, tc.status, tc.code)
			if tc.status == 200 && r.json["ok"] != true {
				t.Errorf("check: %s", r.body)
			}
		})
	}
	// Bob's route was not touched by Alice's attempt.
	r = e.do("GET", "/v1/orgs/"+bobOrg+"/routes/bob.example.com", bob, nil)
	e.want(r, 200, "")
}

// pendingEdge is an edge that never serves a hostname: its certificate stays
// pending, so a route's domain stays unverified until its DNS or its ownership
// record shows control.
type pendingEdge struct{}

func (pendingEdge) Ensure(_ context.Context, host string, _ reroute.EdgeRefs, _ bool) (reroute.EdgeReport, error) {
	return reroute.EdgeReport{Refs: reroute.EdgeRefs{TenantID: "t-" + host}, Certificate: reroute.CertificatePending}, nil
}

func (pendingEdge) Release(context.Context, string, reroute.EdgeRefs) (reroute.EdgeRefs, error) {
	return reroute.EdgeRefs{}, nil
}

func (pendingEdge) VerifyDNS(context.Context, string, reroute.EdgeRefs) (bool, string, error) {
	return false, "the hostname does not point at the distribution.", nil
}

// newPendingEdgeEnv is the API whose domains are never served at the edge, so
// that routes stay unverified (and claimable) until their DNS or ownership record
// shows control. Its e.dns is the DNS those domains ask.
func newPendingEdgeEnv(t *testing.T) *apiEnv {
	t.Helper()
	dnsServer := dnstest.Start(t)
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		store, ok := d.Routes.(domains.Store)
		if !ok {
			t.Fatalf("the route store %T is not a domains.Store", d.Routes)
		}
		res := dnscheck.New(dnscheck.Config{Servers: []string{dnsServer.Addr}, Timeout: time.Second})
		d.Domains = domains.New(store, pendingEdge{}, res, domains.Config{CNAMETarget: cnameTarget}, time.Now, rand.Reader, d.Log)
	})
	e.dns = dnsServer
	return e
}

// routeCount is an org's usage.routes.
func (e *apiEnv) routeCount(org, token string) float64 {
	e.t.Helper()
	r := e.do("GET", "/v1/orgs/"+org, token, nil)
	e.want(r, 200, "")
	n, _ := r.obj("usage")["routes"].(float64)
	return n
}

// setTXT publishes rec (a TXT record) in the env's DNS.
func (e *apiEnv) setTXT(rec reroute.DNSRecord) {
	e.t.Helper()
	e.dns.Set(e.t, rec.Name+`. 60 IN TXT "`+rec.Value+`"`)
}

func TestRouteClaim(t *testing.T) {
	e := newPendingEdgeEnv(t)
	alice := e.token("alice@example.com")
	orgA := e.newPaidOrg("alice@example.com", "developer")
	bob := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "B")
	carol := e.token("carol@example.com")
	orgC := e.newOrg("carol@example.com", "C")
	dave := e.token("dave@example.com")
	orgD := e.newOrg("dave@example.com", "D")

	const host = "shop.claim.example.com"
	create := func(org, token string, extra map[string]any) resp {
		t.Helper()
		body := map[string]any{"host": host, "target": "https://example.org/" + org}
		for k, v := range extra {
			body[k] = v
		}
		return e.do("POST", "/v1/orgs/"+org+"/routes", token, body)
	}
	route := func(org, token string) resp {
		t.Helper()
		return e.do("GET", "/v1/orgs/"+org+"/routes/"+host, token, nil)
	}
	// refusal checks a 409 refusal of a creation and what it says about claiming.
	refusal := func(r resp, code string, claimable *bool, org string) {
		t.Helper()
		e.want(r, 409, code)
		got, has := r.json["claimable"]
		switch {
		case claimable == nil && has:
			t.Errorf("claimable %v, want none", got)
		case claimable != nil && got != *claimable:
			t.Errorf("claimable %v, want %v", got, *claimable)
		}
		rec := r.obj("ownershipRecord")
		switch {
		case org == "" && rec != nil:
			t.Errorf("ownershipRecord %v, want none", rec)
		case org != "":
			wantOwnershipRecord(t, rec, org, host)
		}
		if strings.Contains(string(r.body), "org_") {
			t.Errorf("a refusal must not name the org that holds the hostname: %s", r.body)
		}
	}
	yes, no := true, false

	// Alice routes the hostname, but her route is not verified: no DNS points at
	// the service and the edge serves nothing.
	r := create(orgA, alice, nil)
	e.want(r, 201, "")
	d := r.obj("domain")
	if d["verified"] != false || d["state"] != "pending_dns" || d["releaseAt"] == nil || d["reason"] == "" {
		t.Fatalf("alice's domain %v, want pending_dns, unverified, with a releaseAt", d)
	}
	if n := e.routeCount(orgA, alice); n != 1 {
		t.Fatalf("alice's org has %v routes, want 1", n)
	}

	// Alice routing it again is a plain conflict: nothing to claim.
	refusal(create(orgA, alice, nil), "host_taken", nil, "")
	refusal(create(orgA, alice, map[string]any{"claim": true}), "host_taken", nil, "")

	// Bob is told he may claim it, and with which record.
	refusal(create(orgB, bob, nil), "host_taken", &yes, orgB)
	// Claiming without the record in DNS is refused.
	refusal(create(orgB, bob, map[string]any{"claim": true}), "ownership_not_proven", &yes, orgB)
	// Alice's record proves nothing for Bob.
	e.setTXT(reroute.OwnershipRecord(orgA, host))
	refusal(create(orgB, bob, map[string]any{"claim": true}), "ownership_not_proven", &yes, orgB)

	// Dave proves control but has no room on his plan: the claim fails as a
	// whole, and Alice keeps the hostname.
	e.want(e.do("POST", "/v1/orgs/"+orgD+"/routes", dave, map[string]any{"host": "dave.example.com", "target": "https://example.org/"}), 201, "")
	e.setTXT(reroute.OwnershipRecord(orgD, host))
	e.want(create(orgD, dave, map[string]any{"claim": true}), 403, "plan_limit_reached")
	e.want(route(orgA, alice), 200, "")
	if n := e.routeCount(orgA, alice); n != 1 {
		t.Errorf("after a failed claim alice's org has %v routes, want 1", n)
	}

	// With Bob's record in DNS, his claim takes the hostname.
	e.setTXT(reroute.OwnershipRecord(orgB, host))
	r = create(orgB, bob, map[string]any{"claim": true, "hsts": true})
	e.want(r, 201, "")
	if loc := r.header.Get("Location"); loc != "/v1/orgs/"+orgB+"/routes/"+host {
		t.Errorf("Location %q", loc)
	}
	if r.str("target") != "https://example.org/"+orgB || r.json["hsts"] != true || r.json["httpsRedirect"] != true {
		t.Errorf("the claimed route is not bob's as he asked: %s", r.body)
	}
	d = r.obj("domain")
	if d["verified"] != true || d["releaseAt"] != nil {
		t.Errorf("the claimed route's domain %v, want verified without releaseAt", d)
	}
	wantOwnershipRecord(t, r.obj("ownershipRecord"), orgB, host)

	e.want(route(orgA, alice), 404, "route_not_found")
	r = route(orgB, bob)
	e.want(r, 200, "")
	if r.obj("domain")["verified"] != true || r.str("target") != "https://example.org/"+orgB {
		t.Errorf("bob's route after the claim: %s", r.body)
	}
	if n := e.routeCount(orgA, alice); n != 0 {
		t.Errorf("alice's org has %v routes after losing its only one, want 0", n)
	}
	if n := e.routeCount(orgB, bob); n != 1 {
		t.Errorf("bob's org has %v routes after the claim, want 1", n)
	}
	if items := e.do("GET", "/v1/orgs/"+orgA+"/routes", alice, nil).items(); len(items) != 0 {
		t.Errorf("alice's org still lists %v", items)
	}

	// Bob's route is verified: nobody can claim it, with or without a record.
	refusal(create(orgC, carol, nil), "host_taken", &no, orgC)
	e.setTXT(reroute.OwnershipRecord(orgC, host))
	refusal(create(orgC, carol, map[string]any{"claim": true}), "host_taken", &no, orgC)
	refusal(create(orgA, alice, map[string]any{"claim": true}), "host_taken", &no, orgA)
	e.want(route(orgB, bob), 200, "")
	if n := e.routeCount(orgC, carol); n != 0 {
		t.Errorf("carol's org has %v routes, want 0", n)
	}

	// A claim of a free hostname is an ordinary creation.
	r = e.do("POST", "/v1/orgs/"+orgC+"/routes", carol, map[string]any{"host": "free.claim.example.com", "target": "https://example.org/", "claim": true})
	e.want(r, 201, "")
	if r.obj("domain")["verified"] != false {
		t.Errorf("a route created with claim on a free hostname is verified without proof: %s", r.body)
	}
}

// A route whose ownership record is in DNS is verified, though its DNS does not
// point at the service and the edge does not serve it.
func TestRouteVerifiedByOwnershipRecord(t *testing.T) {
	e := newPendingEdgeEnv(t)
	alice := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "A")
	const host = "www.owned.example.com"
	base := "/v1/orgs/" + org + "/routes"
	r := e.do("POST", base, alice, map[string]any{"host": host, "target": "https://example.org/"})
	e.want(r, 201, "")
	if r.obj("domain")["verified"] != false {
		t.Fatalf("verified without proof: %s", r.body)
	}
	check := e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(check, 200, "")
	if check.json["ok"] != false || check.obj("route")["domain"].(map[string]any)["verified"] != false {
		t.Errorf("a check without DNS: %s", check.body)
	}
	e.setTXT(reroute.OwnershipRecord(org, host))
	check = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(check, 200, "")
	d := check.obj("route")["domain"].(map[string]any)
	if d["verified"] != true || d["releaseAt"] != nil || d["state"] != "pending_dns" {
		t.Errorf("after the ownership record: %v", d)
	}
	r = e.do("GET", base+"/"+host, alice, nil)
	e.want(r, 200, "")
	if r.obj("domain")["verified"] != true {
		t.Errorf("GET after the check: %s", r.body)
	}

	// With the CNAME in place DNS is right; the edge's own view, which lags, is
	// reported as a warning, and the certificate is next.
	e.dns.Set(t, host+". 60 IN CNAME "+cnameTarget+".", cnameTarget+". 60 IN A 192.0.2.10")
	check = e.do("POST", base+"/"+host+"/check", alice, nil)
	e.want(check, 200, "")
	levels := map[string]any{}
	for _, f := range check.json["findings"].([]any) {
		levels[f.(map[string]any)["code"].(string)] = f.(map[string]any)["level"]
	}
	if check.json["ok"] != true || levels["cname_ok"] != "ok" || levels["edge_dns_pending"] != "warning" {
		t.Errorf("a check with the CNAME on an edge that does not see it yet: %s", check.body)
	}
	if d := check.obj("route")["domain"].(map[string]any); d["state"] != "pending_certificate" || d["verified"] != true {
		t.Errorf("the domain with DNS right and the certificate pending: %v", d)
	}
}

// verifyingStore is the table as seen by a claim that races the holder: just
// before the claim is written, the holding org shows control of the hostname.
type verifyingStore struct{ domains.Store }

func (s verifyingStore) ClaimRoute(ctx context.Context, held, claimant reroute.Route) error {
	d := held.Domain
	d.VerifiedAt, d.CheckedAt = time.Now(), time.Now()
	if err := s.SaveDomain(ctx, held, d); err != nil {
		return err
	}
	return s.Store.ClaimRoute(ctx, held, claimant)
}

// A claim that loses the race to the holder's verification is refused as a
// claim of a verified route: host_taken, not claimable.
func TestRouteClaimRacesVerification(t *testing.T) {
	dnsServer := dnstest.Start(t)
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		res := dnscheck.New(dnscheck.Config{Servers: []string{dnsServer.Addr}, Timeout: time.Second})
		d.Domains = domains.New(verifyingStore{d.Routes.(domains.Store)}, pendingEdge{}, res,
			domains.Config{CNAMETarget: cnameTarget}, time.Now, rand.Reader, d.Log)
	})
	e.dns = dnsServer
	alice := e.token("alice@example.com")
	orgA := e.newOrg("alice@example.com", "A")
	bob := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "B")
	const host = "race.claim.example.com"
	e.want(e.do("POST", "/v1/orgs/"+orgA+"/routes", alice, map[string]any{"host": host, "target": "https://example.org/"}), 201, "")
	e.setTXT(reroute.OwnershipRecord(orgB, host))

	r := e.do("POST", "/v1/orgs/"+orgB+"/routes", bob, map[string]any{"host": host, "target": "https://example.org/", "claim": true})
	e.want(r, 409, "host_taken")
	if r.json["claimable"] != false {
		t.Errorf("claimable %v, want false", r.json["claimable"])
	}
	wantOwnershipRecord(t, r.obj("ownershipRecord"), orgB, host)
	r = e.do("GET", "/v1/orgs/"+orgA+"/routes/"+host, alice, nil)
	e.want(r, 200, "")
	if r.obj("domain")["verified"] != true {
		t.Errorf("alice's route: %s", r.body)
	}
	if n := e.routeCount(orgB, bob); n != 0 {
		t.Errorf("bob's org has %v routes, want 0", n)
	}
}

// With DNS unreachable, a claim cannot be settled (503 dns_unavailable, to be
// retried) and a check says so among its findings.
func TestRouteDNSUnavailable(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := pc.LocalAddr().String()
	_ = pc.Close() // nothing answers there now
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		res := dnscheck.New(dnscheck.Config{Servers: []string{dead}, Timeout: 300 * time.Millisecond})
		d.Domains = domains.New(d.Routes.(domains.Store), pendingEdge{}, res,
			domains.Config{CNAMETarget: cnameTarget}, time.Now, rand.Reader, d.Log)
	})
	alice := e.token("alice@example.com")
	orgA := e.newOrg("alice@example.com", "A")
	bob := e.token("bob@example.com")
	orgB := e.newOrg("bob@example.com", "B")
	const host = "www.nodns.example.com"
	r := e.do("POST", "/v1/orgs/"+orgA+"/routes", alice, map[string]any{"host": host, "target": "https://example.org/"})
	e.want(r, 201, "")
	if d := r.obj("domain"); d["verified"] != false || d["state"] != "pending_dns" {
		t.Errorf("a route created while DNS is unreachable: %v", d)
	}

	r = e.do("POST", "/v1/orgs/"+orgB+"/routes", bob, map[string]any{"host": host, "target": "https://example.org/", "claim": true})
	e.want(r, 503, "dns_unavailable")
	if r.header.Get("Retry-After") == "" || r.str("detail") == "" || r.json["claimable"] != nil {
		t.Errorf("a claim while DNS is unreachable: %v %s", r.header, r.body)
	}
	e.want(e.do("GET", "/v1/orgs/"+orgA+"/routes/"+host, alice, nil), 200, "")

	r = e.do("POST", "/v1/orgs/"+orgA+"/routes/"+host+"/check", alice, nil)
	e.want(r, 200, "")
	findings, _ := r.json["findings"].([]any)
	if r.json["ok"] != false || len(findings) == 0 || findings[0].(map[string]any)["code"] != "dns_lookup_failed" {
		t.Errorf("a check while DNS is unreachable: %s", r.body)
	}
}
