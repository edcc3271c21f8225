package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/accesslog"
	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/oauth"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

// Defaults of the local stack, shared by `dev` and `routes`.
const (
	defaultDynamoPort = 8000
	defaultTable      = "dnsreroute-local"
	defaultDataDir    = ".ddb-data"
	defaultRedirect   = "127.0.0.1:8081"
	defaultAPI        = "127.0.0.1:8080"
	devAudience       = "dnsreroute-dashboard"
	// devWebhookSecret signs the Stripe events the local stack delivers to itself
	// when no STRIPE_WEBHOOK_SECRET is set. It protects nothing: it is local only.
	devWebhookSecret = "whsec_dnsreroute_local_development_only"
	devServiceHost   = "localhost"
)

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redirectAddr := fs.String("redirect-addr", envOr(getenv, "REDIRECT_ADDR", defaultRedirect), "address of the redirector")
	apiAddr := fs.String("api-addr", envOr(getenv, "API_ADDR", defaultAPI), "address of the API and the dev sign-in")
	dynamoPort := fs.Int("dynamodb-port", defaultDynamoPort, "port of DynamoDB Local")
	dataDir := fs.String("data", defaultDataDir, "folder keeping DynamoDB Local's data between runs")
	table := fs.String("table", defaultTable, "table name")
	toolsDir := fs.String("tools", "tools", "folder holding the installed tools (make tools)")
	webDir := fs.String("web", "web/dist", "folder of the built dashboard (make web)")
	stateFile := fs.String("state", defaultStateFile, "file telling the local commands where this stack runs (removed on exit)")
	dynamoEndpoint := fs.String("dynamodb-endpoint", "", "a running DynamoDB to use instead of starting DynamoDB Local")
	mailDir := fs.String("mail", defaultMailDir, "folder the emails the stack would send are written to, as .eml files")
	accessLog := fs.String("access-log", defaultAccessLog, "file the redirector appends every answer to (CloudFront's JSON log records), counted into analytics every few seconds")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	log := logging.New(stderr, logging.ParseLevel(envOr(getenv, "LOG_LEVEL", "info")))

	if *dynamoEndpoint == "" {
		if err := os.MkdirAll(*dataDir, 0o750); err != nil {
			return err
		}
		ddb, err := devstack.StartDynamoDBLocal(ctx, devstack.DynamoDBLocalOptions{ToolsDir: *toolsDir, Port: *dynamoPort, DataDir: *dataDir})
		if err != nil {
			return fmt.Errorf("start DynamoDB Local: %w", err)
		}
		defer func() {
			if err := ddb.Stop(); err != nil {
				log.Warn("stopping DynamoDB Local", "err", err)
			}
		}()
		*dynamoEndpoint = ddb.Endpoint()
	}
	client := devstack.NewDynamoDBClient(*dynamoEndpoint)
	if err := dynamo.EnsureTable(ctx, client, dnsreroute.Template(), *table); err != nil {
		return fmt.Errorf("create table %s: %w", *table, err)
	}

	store := dynamo.New(client, *table)
	// Short TTLs so that a route added through the API answers within a second.
	// Short TTLs so that a route added through the API answers within a second;
	// no HTTPS here, so no route is sent to it.
	resolver := redirect.NewResolver(store, redirect.Config{
		ServiceHost: devServiceHost,
		PositiveTTL: time.Second,
		NegativeTTL: time.Second,
		NoHTTPS:     true,
	}, time.Now, log)
	doms := devDomains(store, getenv, log)
	var dist iofs.FS
	if st, err := os.Stat(*webDir); err == nil && st.IsDir() {
		dist = os.DirFS(*webDir)
	} else {
		log.Warn("the dashboard is not built: run make web", "dir", *webDir)
	}
	apiHandler, err := devAPI(ctx, "http://"+*apiAddr, store, doms, dist, getenv, log)
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", *apiAddr)
	if err != nil {
		return fmt.Errorf("API: %w", err)
	}
	ln, err := net.Listen("tcp", *redirectAddr)
	if err != nil {
		return fmt.Errorf("redirector: %w", err)
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	apiSrv := devstack.NewAPIServer(apiHandler, errLog)
	logged, closeLog, err := openAccessLog(*accessLog, redirect.NewHandler(resolver, false), false, log)
	if err != nil {
		return err
	}
	defer closeLog()
	srv := redirect.NewServer(logged, errLog)

	fmt.Fprintf(stdout, `DNSReRoute is running locally (Ctrl-C stops everything):
  dashboard       http://%[6]s/
  API             http://%[6]s/v1   (OpenAPI: http://%[6]s/v1/openapi.json)
  dev sign-in     curl -s -X POST http://%[6]s/dev/token -d '{"email":"you@example.com"}'
  Stripe webhook  http://%[6]s/webhooks/stripe   (signed test events: POST http://%[6]s/dev/stripe-events)
  redirector      http://%[1]s   (try: curl -i -H 'Host: old.example.com' http://%[1]s/some/path?x=1)
  health          http://localhost:%[2]s/healthz
  analytics       every answer is logged to %[7]s and counted every %[8]s
  DynamoDB Local  %[3]s   table %[4]s, data in %[5]s
`, ln.Addr(), portOf(ln.Addr()), *dynamoEndpoint, *table, *dataDir, apiLn.Addr(), *accessLog, devIngestPeriod)
	removeState, err := writeDevState(*stateFile, devState{PID: os.Getpid(), DynamoDBEndpoint: *dynamoEndpoint, Table: *table,
		API: "http://" + apiLn.Addr().String(), Redirector: "http://" + ln.Addr().String()})
	if err != nil {
		return err
	}
	defer removeState()
	fmt.Fprintf(stdout, "  local commands  go run ./cmd/dnsreroute routes list   (they find this stack in %s)\n", *stateFile)
	go runDomainWorker(ctx, doms, devWorkerPeriod, log)
	fmt.Fprintf(stdout, "  notifications   webhooks sent from here (http://127.0.0.1 endpoints allowed); emails written to %s\n", *mailDir)
	go func() {
		if err := runNotifications(ctx, client, *table, store, "http://"+apiLn.Addr().String(), *mailDir, log); err != nil {
			log.Warn("notifications stopped", "err", err)
		}
	}()
	go accesslog.NewTailer(*accessLog, ingestInto(store), log).Run(ctx, devIngestPeriod)
	errs := make(chan error, 2)
	go func() { errs <- serveUntilDone(ctx, apiSrv, apiLn) }()
	go func() { errs <- serveUntilDone(ctx, srv, ln) }()
	err = errors.Join(<-errs, <-errs)
	fmt.Fprintln(stdout, "stopped")
	return err
}

// devAPI is the management API with a dev issuer beside it: tokens come from
// POST /dev/token (or the dashboard's sign-in page) and are verified by the same
// JWKS code as in production, over an in-process client.
//
// Billing uses the STRIPE_* variables when set (a Stripe test account); the
// webhook is served at /webhooks/stripe with STRIPE_WEBHOOK_SECRET, or a local
// secret, and POST /dev/stripe-events signs an event with that secret and delivers
// it there, so a plan change can be seen without a Stripe account.
func devAPI(ctx context.Context, issuerURL string, store *dynamo.Store, doms reroute.Domains, dist iofs.FS, getenv func(string) string, log *slog.Logger) (http.Handler, error) {
	env := envconfig.New(getenv)
	edgeStore := env.ARN("EDGE_KVS_ARN", "cloudfront", "key-value-store/")
	if err := env.Err(); err != nil {
		return nil, err
	}
	settings, err := billing.ReadSettings(ctx, env, func(_ context.Context, v string) (string, error) { return v, nil })
	if err != nil {
		return nil, err
	}
	var payments reroute.Payments
	if settings.Enabled() {
		payments = billing.NewStripe(settings.Config, nil)
	} else {
		// The prices of the sample events in events/, so that delivering one to
		// /dev/stripe-events changes a plan without a Stripe account.
		settings.Plans = reroute.DefaultCatalog().WithStripePrices(map[string]string{
			reroute.PlanDeveloper: "price_developer_example", reroute.PlanEnterprise: "price_enterprise_example",
		})
	}
	if settings.Config.WebhookSecret == "" {
		settings.Config.WebhookSecret = devWebhookSecret
	}
	var notifications *httpapi.Notifications
	if store != nil { // nil: a test of the routes around the API, which reads no table
		notifications = &httpapi.Notifications{Prefs: store, UnsubscribeKey: store.SigningKeyOnce("unsubscribe", rand.Reader)}
	}
	issuer, err := devstack.NewDevIssuer(issuerURL, devAudience)
	if err != nil {
		return nil, err
	}
	verifier, err := auth.NewJWTVerifier(ctx, auth.JWTConfig{Issuer: issuerURL, Audience: devAudience}, issuer.Client())
	if err != nil {
		return nil, err
	}
	// Third-party apps' authorization server, on this stack's origin; its
	// authorization endpoint is the dashboard's consent page.
	oauthServer := oauth.New(oauth.Config{Issuer: issuerURL, AuthorizeURL: issuerURL + "/oauth/authorize"}, store, rand.Reader, time.Now, log)
	api := httpapi.NewServer(httpapi.Deps{
		Routes: store, Orgs: store, Keys: store, BillingStore: store,
		Idempotency: store, // Idempotency-Key of POST requests, kept 24 h
		Payments:    payments,
		Domains:     doms,
		Limiter:     store, // DNS checks metered as on AWS
		Analytics:   store,
		OAuth:       oauthServer,
		OAuthStore:  store,
		Auth:        auth.NewAuthenticator(verifier, store, oauthServer, time.Now, log),
		Plans:       settings.Plans,
		Config: httpapi.Config{
			CORSOrigins: []string{issuerURL},
			CNAMETarget: devServiceHost,
			ServiceHost: devServiceHost,
			// The local stack has no KeyValueStore unless one is named: its
			// routes are served by the origin, and the dashboard says so.
			EdgeStoreARN: edgeStore,
		},
		Log: log, Now: time.Now, Rand: rand.Reader,
		Events: store, Destinations: store,
		Webhooks: &httpapi.Webhooks{Store: store, URLs: devGuard,
			NewSecret: func() (string, error) { return webhook.NewSecret(rand.Reader) }},
		Notifications: notifications,
	})
	hook := billing.NewHandler(billing.NewWebhook(settings.Config.WebhookSecret, settings.Plans, billing.DefaultTolerance, time.Now),
		store, store, settings.Plans, log)
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	// The authorization server's endpoints; GET /oauth/authorize is the
	// dashboard's consent page.
	mux.Handle("POST /oauth/", api)
	mux.Handle("GET /.well-known/oauth-authorization-server", api)
	mux.Handle("/webhooks/stripe", hook)
	mux.Handle("POST /dev/stripe-events", devstack.SignedEventDelivery(settings.Config.WebhookSecret, hook))
	// The dev issuer's paths, then the dashboard (dist, built by make web) at
	// every other GET path, with its config.json pointing at this stack.
	ih := issuer.Handler()
	for _, p := range []string{"/.well-known/", "/authorize", "/token", "/dev/"} {
		mux.Handle(p, ih)
	}
	mux.Handle("/webhooks/", http.NotFoundHandler())
	mux.Handle("/", webHandler(dist, webConfig{
		APIURL: issuerURL + "/v1", Issuer: issuerURL, ClientID: devAudience, CNAMETarget: devServiceHost,
	}))
	return mux, nil
}

// devIngestPeriod is how often the local stack counts the redirector's new
// log lines (CloudFront delivers its logs within minutes on AWS).
const devIngestPeriod = 5 * time.Second

// defaultAccessLog is where the local redirector logs its answers; its
// ".offset" file beside it says how far they were counted.
const defaultAccessLog = ".dnsreroute-access.log"

// openAccessLog wraps h so that every answer is appended to the log at path,
// in the record format CloudFront delivers, and returns what closes the file.
func openAccessLog(path string, h http.Handler, trustForwarded bool, log *slog.Logger) (http.Handler, func(), error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // G304: the operator's own -access-log
	if err != nil {
		return nil, nil, fmt.Errorf("access log: %w", err)
	}
	w := accesslog.NewWriter(f)
	onErr := func(err error) { log.Warn("access log write failed", "path", path, "err", err) }
	return accesslog.Handler(h, w, trustForwarded, time.Now, onErr), func() { _ = f.Close() }, nil
}

// ingestInto counts log lines into the store's analytics, as the analytics
// function does on AWS.
func ingestInto(store *dynamo.Store) accesslog.IngestFunc {
	return func(ctx context.Context, source string, r io.Reader) error {
		_, err := analytics.Ingest(ctx, store, source, r)
		return err
	}
}

// devWorkerPeriod is how often the local stack runs the domain worker (every
// few minutes on AWS).
const devWorkerPeriod = 15 * time.Second

// devDomains is the domain lifecycle of the local stack: the local edge, which
// serves a hostname at once (there is no CDN), and public DNS through the
// machine's resolvers (or DNS_SERVERS, "host:port,..."), asked briefly so that an
// offline machine answers "could not be looked up" without a wait.
func devDomains(store *dynamo.Store, getenv func(string) string, log *slog.Logger) *domains.Service {
	var servers []string
	if v := getenv("DNS_SERVERS"); v != "" {
		servers = strings.Split(v, ",")
	}
	res := dnscheck.New(dnscheck.Config{Servers: servers, Timeout: 700 * time.Millisecond})
	return domains.New(store, edge.NewLocal(), res, domains.Config{CNAMETarget: devServiceHost}, time.Now, rand.Reader, log)
}

// runDomainWorker runs the domain worker every period until ctx ends, as the
// scheduled function does on AWS.
func runDomainWorker(ctx context.Context, doms *domains.Service, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st, err := doms.Run(ctx)
			if err != nil {
				log.Warn("domain worker run failed", "err", err)
			} else if st.Due > 0 {
				log.Info("domain worker run", "due", st.Due, "advanced", st.Advanced, "active", st.Active, "released", st.Released, "removed", st.Removed)
			}
		}
	}
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
