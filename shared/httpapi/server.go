// Package httpapi is the management API: orgs, members, routes, API keys and plans,
// as JSON under /v1, with problems (RFC 9457) for every error. NewServer returns one
// http.Handler, served by API Gateway through the Lambda adapter and directly by the
// local stack.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Authenticator identifies the caller from an Authorization header.
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (reroute.Caller, error)
}

// Config is the API's settings, read once at start.
type Config struct {
	// CORSOrigins are the dashboard origins allowed to call the API from a browser.
	CORSOrigins []string
	// CNAMETarget is the hostname customers point their CNAME records at.
	CNAMETarget string
	// ServiceHost is the redirect service's own hostname, which no route may use.
	ServiceHost string
	// RouteChecks and OrgChecks bound the DNS checks of one route and of one
	// org, each of which sends several DNS queries. Zero: a route about one
	// every 10 s with a burst of 3 (3 every 30 s), an org 30 a minute.
	RouteChecks, OrgChecks reroute.Rate
	// EdgeStoreARN is the CloudFront KeyValueStore the edge sync writes routes
	// into; empty when the deployment has none (the local stack), and then
	// every route is reported as served by the origin.
	EdgeStoreARN string
}

// Deps are everything the server uses. Payments is nil when billing is not
// configured: billing endpoints then answer billing_not_configured.
type Deps struct {
	Routes       reroute.RouteStore
	Orgs         reroute.OrgStore
	Keys         reroute.APIKeyStore
	BillingStore reroute.BillingStore
	Payments     reroute.Payments
	Domains      reroute.Domains
	Auth         Authenticator
	Plans        reroute.Catalog
	Config       Config
	Log          *slog.Logger
	Now          func() time.Time
	Rand         io.Reader // for ids and API key secrets (crypto/rand.Reader outside tests)
	// Limiter meters what costs us per request (DNS checks) across every
	// instance; nil leaves it unmetered, for a single local process only.
	Limiter reroute.RateLimiter
	// Analytics answers the counters aggregated from the redirect service's
	// logs; nil answers analytics_not_configured.
	Analytics reroute.AnalyticsReader
	// Idempotency keeps the Idempotency-Key of POST requests and their answers
	// (24 h); nil ignores the header.
	Idempotency reroute.IdempotencyStore
	// OAuth is the authorization server for third-party apps, and OAuthStore
	// its apps and grants; nil answers oauth_not_configured.
	OAuth      OAuthServer
	OAuthStore reroute.OAuthStore
	// Destinations answers what the destination monitor found of a route's
	// target (GET of a route); nil leaves it out.
	Destinations reroute.DestinationStore
	// Events records what is not itself a table write (an import's end, a test
	// event); nil records nothing.
	Events reroute.EventRecorder
	// Webhooks serves the org's webhook endpoints; nil answers
	// webhooks_not_configured.
	Webhooks *Webhooks
	// Notifications serves members' email preferences and the unsubscribe
	// link; nil answers notifications_not_configured.
	Notifications *Notifications
}

type server struct {
	Deps
	rules reroute.Rules
}

// NewServer returns the API's handler.
func NewServer(d Deps) http.Handler {
	if d.Config.RouteChecks == (reroute.Rate{}) {
		d.Config.RouteChecks = reroute.Rate{Max: 3, Window: 30 * time.Second}
	}
	if d.Config.OrgChecks == (reroute.Rate{}) {
		d.Config.OrgChecks = reroute.Rate{Max: 30, Window: time.Minute}
	}
	s := &server{Deps: d, rules: reroute.Rules{ServiceHost: d.Config.ServiceHost}}
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, rt.methods)
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.Log, &httpError{status: http.StatusNotFound, reason: "not_found", msg: "no such endpoint"})
	}))
	var h http.Handler = mux
	h = s.cors(h)
	h = s.observe(h)
	return h
}
