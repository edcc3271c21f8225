package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/oauth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const (
	audience    = "dashboard-client"
	cnameTarget = "redirect.dnsreroute.test"
	dashboard   = "https://app.dnsreroute.test"
	apiIssuer   = "https://api.dnsreroute.test"
)

// apiEnv is the API over a fresh table in DynamoDB Local, with the real
// authenticator verifying tokens of a dev issuer served on loopback.
type apiEnv struct {
	t       *testing.T
	h       http.Handler
	store   *dynamo.Store
	db      *dynamodb.Client // the store's table, for what reads it beside the API
	table   string
	issuer  *devstack.DevIssuer
	checker *openAPIChecker
	logs    *lockedBuffer
	dns     *dnstest.Server // the DNS the API's domain checks ask
	// authSkew moves the authenticator's clock ahead of the wall clock, so that
	// a test sees a key expire without waiting for it.
	authSkew *atomic.Int64
}

// advanceAuthClock moves the clock the authenticator judges expiry by d ahead.
func (e *apiEnv) advanceAuthClock(d time.Duration) { e.authSkew.Add(int64(d)) }

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	return newAPIEnvWith(t, nil)
}

// newAPIEnvWith is newAPIEnv with mutate (when not nil) applied to the Deps
// before the server is built.
func newAPIEnvWith(t *testing.T, mutate func(*httpapi.Deps)) *apiEnv {
	t.Helper()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)

	var issuerHandler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { issuerHandler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	issuer, err := devstack.NewDevIssuer(srv.URL, audience)
	if err != nil {
		t.Fatal(err)
	}
	issuerHandler = issuer.Handler()
	verifier, err := auth.NewJWTVerifier(context.Background(), auth.JWTConfig{Issuer: srv.URL, Audience: audience}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := logging.New(logs, slog.LevelInfo)
	dnsServer := dnstest.Start(t)
	authSkew := new(atomic.Int64)
	authNow := func() time.Time { return time.Now().Add(time.Duration(authSkew.Load())) }
	oauthServer := oauth.New(oauth.Config{Issuer: apiIssuer, AuthorizeURL: dashboard + "/oauth/authorize"}, store, rand.Reader, authNow, log)
	deps := httpapi.Deps{
		Routes: store, Orgs: store, Keys: store, BillingStore: store,
		Domains: newDomains(store, dnsServer, log), Limiter: store, Idempotency: store, Analytics: store,
		OAuth: oauthServer, OAuthStore: store,
		Auth:  auth.NewAuthenticator(verifier, store, oauthServer, authNow, log),
		Plans: reroute.DefaultCatalog(),
		Config: httpapi.Config{CORSOrigins: []string{dashboard}, CNAMETarget: cnameTarget, ServiceHost: cnameTarget,
			// Metered, but far above what any test but the metering's own asks.
			RouteChecks: reroute.Rate{Max: 1000, Window: time.Hour}, OrgChecks: reroute.Rate{Max: 1000, Window: time.Hour}},
		Log: log, Now: time.Now, Rand: rand.Reader,
		Webhooks: newWebhooks(store), Events: store, Destinations: store, Notifications: &httpapi.Notifications{Prefs: store, UnsubscribeKey: func(context.Context) ([]byte, error) { return []byte(unsubscribeKey), nil }},
	}
	if mutate != nil {
		mutate(&deps)
	}
	h := httpapi.NewServer(deps)
	return &apiEnv{t: t, h: h, store: store, db: client, table: table, issuer: issuer, checker: newOpenAPIChecker(t), logs: logs, dns: dnsServer, authSkew: authSkew}
}

// newDomains is the domain lifecycle on the local edge (a hostname is served at
// once) with DNS from a server of the test's own.
func newDomains(store *dynamo.Store, dnsServer *dnstest.Server, log *slog.Logger) *domains.Service {
	res := dnscheck.New(dnscheck.Config{Servers: []string{dnsServer.Addr}, Timeout: time.Second})
	return domains.New(store, edge.NewLocal(), res, domains.Config{CNAMETarget: cnameTarget}, time.Now, rand.Reader, log)
}

func (e *apiEnv) token(email string) string {
	e.t.Helper()
	tok, err := e.issuer.Mint(email, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// resp is an answer, its JSON decoded.
type resp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r resp) str(key string) string { s, _ := r.json[key].(string); return s }

func (r resp) items() []any { v, _ := r.json["items"].([]any); return v }

// do sends a request as token ("" for none) with body (nil, a string sent raw, or a
// value sent as JSON), and checks the answer against the OpenAPI document.
func (e *apiEnv) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	e.checker.check(e.t, method, req.URL.Path, rec.Code, rec.Header().Get("Content-Type"), out.body)
	if len(out.body) > 0 && out.body[0] == '{' {
		_ = json.Unmarshal(out.body, &out.json)
	}
	return out
}

// want fails the test unless r has status (and, for problems, code).
func (e *apiEnv) want(r resp, status int, code string) {
	e.t.Helper()
	if r.status != status || code != "" && r.str("code") != code {
		e.t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

// newOrg creates an org through the API as email and returns its id.
func (e *apiEnv) newOrg(email, name string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/orgs", e.token(email), map[string]any{"name": name})
	e.want(r, 201, "")
	return r.str("id")
}

// newPaidOrg creates an org on plan directly in the store (plan changes arrive with
// billing), owned by email.
func (e *apiEnv) newPaidOrg(email, planName string) string {
	e.t.Helper()
	plan, _ := reroute.DefaultCatalog().Get(planName)
	id := "org_" + strings.ReplaceAll(strings.ToLower(e.t.Name()), "/", "_")
	now := time.Now().UTC()
	err := e.store.CreateOrg(context.Background(),
		reroute.Org{ID: id, Name: "Paid", Plan: plan.Name, RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit, RuleLimit: plan.RuleLimit, MemberCount: 1, OwnerCount: 1, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: id, Email: email, Role: reroute.RoleOwner, OrgName: "Paid", CreatedAt: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
