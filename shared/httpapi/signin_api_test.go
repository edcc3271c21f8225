package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Memberships are keyed by email: a token whose issuer does not say the address is
// verified is refused on every operation, so registering someone's address with
// the issuer does not give their orgs.
func TestUnverifiedEmailRefused(t *testing.T) {
	e := newAPIEnv(t)
	orgID := e.newOrg("victim@example.com", "Victim")
	e.want(e.do("POST", "/v1/orgs/"+orgID+"/routes", e.token("victim@example.com"),
		map[string]any{"host": "old.example.com", "target": "https://new.example.com/", "status": 301}), 201, "")

	ops := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/me", nil},
		{"POST", "/v1/orgs", map[string]any{"name": "Mine"}},
		{"GET", "/v1/orgs/" + orgID, nil},
		{"GET", "/v1/orgs/" + orgID + "/routes", nil},
		{"GET", "/v1/orgs/" + orgID + "/routes/old.example.com", nil},
		{"POST", "/v1/orgs/" + orgID + "/routes/old.example.com/check", nil},
		{"GET", "/v1/orgs/" + orgID + "/members", nil},
		{"DELETE", "/v1/orgs/" + orgID, nil},
	}
	for _, claims := range []map[string]any{
		{"email_verified": nil},
		{"email_verified": false},
		{"email_verified": "false"},
	} {
		tok, err := e.issuer.MintWith("victim@example.com", time.Hour, claims)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range ops {
			r := e.do(op.method, op.path, tok, op.body)
			if r.status != 403 || r.str("code") != "email_not_verified" || !strings.Contains(r.str("detail"), "not verified") {
				t.Errorf("%v: %s %s: %d %s", claims, op.method, op.path, r.status, r.body)
			}
		}
	}
	// Nothing changed: the verified owner still has the org, with one org only.
	r := e.do("GET", "/v1/me", e.token("victim@example.com"), nil)
	e.want(r, 200, "")
	if orgs, _ := r.json["orgs"].([]any); len(orgs) != 1 {
		t.Errorf("the owner's orgs after the refusals: %s", r.body)
	}
}

// The API starts while its issuer is unreachable: user tokens are answered 503 with
// Retry-After until the issuer's keys load, API keys work throughout, and sign-in
// works once the issuer is back.
func TestIssuerUnavailable(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var issuer *devstack.DevIssuer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() { // unreachable: the connection closes without an answer
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		issuer.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var err error
	if issuer, err = devstack.NewDevIssuer(srv.URL, audience); err != nil {
		t.Fatal(err)
	}
	e := newAPIEnvWith(t, func(d *httpapi.Deps) {
		v, err := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: srv.URL, Audience: audience, Log: d.Log}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		d.Auth = auth.NewAuthenticator(v, d.Keys, nil, time.Now, d.Log)
	})

	// An org and a read key of it, made in the store: nobody can sign in yet.
	orgID := e.newPaidOrg("owner@example.com", reroute.PlanDeveloper)
	secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateAPIKey(context.Background(), reroute.APIKey{ID: "key_ci", OrgID: orgID, Name: "ci",
		Scope: reroute.ScopeRead, Hash: hash, Hint: hint, CreatedBy: "owner@example.com"}); err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Mint("owner@example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	for range 3 {
		r := e.do("GET", "/v1/me", tok, nil)
		e.want(r, 503, "issuer_unavailable")
		if r.header.Get("Retry-After") == "" || r.header.Get("WWW-Authenticate") != "" {
			t.Fatalf("headers %v: want Retry-After and no WWW-Authenticate (the token may be fine)", r.header)
		}
		e.want(e.do("GET", "/v1/orgs/"+orgID+"/routes", secret, nil), 200, "")
	}
	// A malformed token needs no key to be refused.
	e.want(e.do("GET", "/v1/me", "not-a-token", nil), 401, "invalid_token")

	down.Store(false)
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := e.do("GET", "/v1/me", tok, nil)
		if r.status == 200 {
			break
		}
		e.want(r, 503, "issuer_unavailable")
		if time.Now().After(deadline) {
			t.Fatal("user tokens still refused 60s after the issuer came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.want(e.do("GET", "/v1/orgs/"+orgID+"/routes", tok, nil), 200, "")
	e.want(e.do("GET", "/v1/orgs/"+orgID+"/routes", secret, nil), 200, "")
	if !strings.Contains(e.logs.String(), "loading the OIDC issuer's signing keys failed") {
		t.Errorf("the failed loads were not logged:\n%s", e.logs.String())
	}
}
