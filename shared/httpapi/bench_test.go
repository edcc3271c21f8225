package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/oauth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// benchEnv is the API as the local stack wires it (dev issuer, JWKS verifier,
// authenticator, store on a fresh table in DynamoDB Local), with one enterprise
// org holding one route, a user who owns it, and a read API key of the org.
type benchEnv struct {
	h      http.Handler
	auth   *auth.Authenticator
	org    string
	host   string
	token  string // the owner's ID token
	secret string // the API key
	// appToken is a third-party app's OAuth access token (routes:read) for the owner.
	appToken string
}

// connectApp registers an app, has the owner allow it (PKCE), and exchanges
// the code, all through the handler: the access token an app would hold.
func (e *benchEnv) connectApp(b *testing.B) string {
	b.Helper()
	call := func(method, path, ctype, body string, set func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		set(req)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec
	}
	owner := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }
	const redirect = "https://app.example.net/callback"
	var app struct{ ClientID, ClientSecret string }
	rec := call("POST", "/v1/orgs/"+e.org+"/oauth-apps", "application/json",
		`{"name":"Bench app","redirectUris":["`+redirect+`"],"confidential":true}`, owner)
	if err := json.Unmarshal(rec.Body.Bytes(), &app); err != nil {
		b.Fatal(err)
	}
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	rec = call("POST", "/v1/oauth/authorizations", "application/json", `{"client_id":"`+app.ClientID+`","redirect_uri":"`+redirect+
		`","response_type":"code","scope":"routes:read","state":"bench-state-1","code_challenge":"`+challenge+
		`","code_challenge_method":"S256","orgId":"`+e.org+`"}`, owner)
	var consent struct{ RedirectTo string }
	if err := json.Unmarshal(rec.Body.Bytes(), &consent); err != nil {
		b.Fatal(err)
	}
	to, err := url.Parse(consent.RedirectTo)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {to.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	rec = call("POST", "/oauth/token", "application/x-www-form-urlencoded", form.Encode(), func(r *http.Request) { r.SetBasicAuth(app.ClientID, app.ClientSecret) })
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token answer %s: %v", rec.Body, err)
	}
	return tok.AccessToken
}

const benchIssuer = "http://127.0.0.1:1" // never dialled: the verifier fetches in-process

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	ctx := context.Background()
	client, table := dynamotest.NewTable(b)
	store := dynamo.New(client, table)
	issuer, err := devstack.NewDevIssuer(benchIssuer, audience)
	if err != nil {
		b.Fatal(err)
	}
	verifier, err := auth.NewJWTVerifier(ctx, auth.JWTConfig{Issuer: benchIssuer, Audience: audience}, issuer.Client())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(verifier.Close)
	// Info, as deployed: every request formats its access log line.
	log := logging.New(io.Discard, slog.LevelInfo)
	oauthServer := oauth.New(oauth.Config{Issuer: apiIssuer, AuthorizeURL: dashboard + "/oauth/authorize"}, store, rand.Reader, time.Now, log)
	authn := auth.NewAuthenticator(verifier, store, oauthServer, time.Now, log)
	h := httpapi.NewServer(httpapi.Deps{
		Routes: store, Orgs: store, Keys: store, BillingStore: store,
		OAuth: oauthServer, OAuthStore: store,
		Domains: newDomains(store, dnstest.Start(b), log),
		Auth:    authn,
		Plans:   reroute.DefaultCatalog(),
		Config:  httpapi.Config{CORSOrigins: []string{dashboard}, CNAMETarget: cnameTarget, ServiceHost: cnameTarget},
		Log:     log, Now: time.Now, Rand: rand.Reader,
	})

	e := &benchEnv{h: h, auth: authn, org: "org_bench", host: "www.bench.example.com"}
	const email = "owner@example.com"
	plan, _ := reroute.DefaultCatalog().Get(reroute.PlanEnterprise)
	now := time.Now().UTC()
	if err := store.CreateOrg(ctx,
		reroute.Org{ID: e.org, Name: "Bench", Plan: plan.Name, RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit, RuleLimit: plan.RuleLimit,
			MemberCount: 1, OwnerCount: 1, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: e.org, Email: email, Role: reroute.RoleOwner, OrgName: "Bench", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	rt := reroute.Route{Host: e.host, OrgID: e.org, Target: "https://example.org/landing", Status: 301, Enabled: true}
	if err := (reroute.Rules{ServiceHost: cnameTarget}).Normalize(&rt); err != nil {
		b.Fatal(err)
	}
	if err := store.CreateRoute(ctx, rt); err != nil {
		b.Fatal(err)
	}
	secret, hash, hint, err := reroute.NewAPIKeySecret(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateAPIKey(ctx, reroute.APIKey{ID: "key_bench", OrgID: e.org, Name: "bench", Scope: reroute.ScopeRead,
		Hash: hash, Hint: hint, CreatedBy: email, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	e.secret = secret
	if e.token, err = issuer.Mint(email, time.Hour); err != nil {
		b.Fatal(err)
	}
	e.appToken = e.connectApp(b)
	e.warmUp(b)
	return e
}

// warmUp sends some requests first: DynamoDB Local, a JVM, answers a few times
// slower until its JIT has compiled the read path, which would otherwise be
// charged to whichever benchmark runs first.
func (e *benchEnv) warmUp(b *testing.B) {
	b.Helper()
	for _, c := range e.credentials() {
		req := httptest.NewRequest(http.MethodGet, "/v1/orgs/"+e.org+"/routes/"+e.host, nil)
		req.Header.Set("Authorization", c.header)
		for range warmUpRequests {
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("warming up with %s: got %d %s", c.name, rec.Code, rec.Body)
			}
		}
	}
}

const warmUpRequests = 300

// credentials are the ways to call the API: a user's JWT, an org's API key and
// an app's OAuth access token.
func (e *benchEnv) credentials() []struct{ name, header string } {
	return []struct{ name, header string }{
		{"jwt", "Bearer " + e.token},
		{"api-key", "Bearer " + e.secret},
		{"oauth-app", "Bearer " + e.appToken},
	}
}

// Reading one route in process, the whole request: authentication (JWT with a
// cached JWKS, or an API key looked up in the store), the org access check and the
// route read, each a GetItem on DynamoDB Local, then the JSON answer.
func BenchmarkAuthenticatedRouteRead(b *testing.B) {
	e := newBenchEnv(b)
	for _, c := range e.credentials() {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/orgs/"+e.org+"/routes/"+e.host, nil)
			req.Header.Set("Authorization", c.header)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				e.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// The authentication of one request, alone: verifying a JWT against the cached
// JWKS (no I/O), or hashing an API key and reading it from DynamoDB Local (one
// GetItem; its use is recorded at most once a minute).
func BenchmarkAuthentication(b *testing.B) {
	e := newBenchEnv(b)
	for _, c := range e.credentials() {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.auth.Authenticate(ctx, c.header); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
