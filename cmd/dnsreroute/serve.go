package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/accesslog"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

// runServe runs the redirector as a plain HTTP server (self-hosted, or behind a load
// balancer), configured by the same variables as the Lambda function.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "REDIRECT_ADDR", defaultRedirect), "listen address")
	statsAddr := fs.String("stats-addr", "", "if set, a private address answering GET /stats with the cache's counters (JSON)")
	accessLog := fs.String("access-log", "", "if set, a file every answer is appended to (CloudFront's JSON log records)")
	ingestEvery := fs.Duration("ingest-every", 5*time.Second, "with -access-log, how often its new lines are counted into analytics (0: only log)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	env := envconfig.New(getenv)
	table := env.String("TABLE_NAME", defaultTable)
	endpoint := env.String("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000")
	trust := env.Bool("TRUST_FORWARDED_HOST", false)
	cfg := redirect.Config{
		ServiceHost:     env.String("SERVICE_HOSTNAME", devServiceHost),
		CacheSize:       env.Int("CACHE_SIZE", redirect.DefaultCacheSize, 1),
		CacheRules:      env.Int("CACHE_RULES", redirect.DefaultCacheRules, 1),
		PositiveTTL:     env.Duration("CACHE_TTL", redirect.DefaultPositiveTTL),
		NegativeTTL:     env.Duration("NEGATIVE_CACHE_TTL", redirect.DefaultNegativeTTL),
		MaxStale:        env.Duration("MAX_STALE", redirect.DefaultMaxStale),
		LookupTimeout:   env.Duration("LOOKUP_TIMEOUT", redirect.DefaultLookupTimeout),
		PermanentMaxAge: env.Duration("REDIRECT_MAX_AGE", redirect.DefaultPermanentMaxAge),
	}
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	if getenv("GOGC") == "" {
		// The live heap is little more than the cache, so Go's default (collect when
		// the heap doubles) collects every few MB of per-request garbage. Four times
		// the live heap costs a few MB and cuts collections fourfold.
		debug.SetGCPercent(400)
	}
	// This server speaks plain HTTP: only behind a proxy that terminates TLS (and
	// says so in X-Forwarded-Proto) may a route send a request to HTTPS.
	cfg.NoHTTPS = !trust
	store := dynamo.New(devstack.NewDynamoDBClient(endpoint), table)
	resolver := redirect.NewResolver(store, cfg, time.Now, log)
	var handler http.Handler = redirect.NewHandler(resolver, trust)
	if *accessLog != "" {
		h, closeLog, err := openAccessLog(*accessLog, handler, trust, log)
		if err != nil {
			return err
		}
		defer closeLog()
		handler = h
		if *ingestEvery > 0 {
			ingestCtx, stop := context.WithCancel(ctx)
			defer stop()
			go accesslog.NewTailer(*accessLog, ingestInto(store), log).Run(ingestCtx, *ingestEvery)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	srv := redirect.NewServer(handler, errLog)
	fmt.Fprintf(stdout, "redirector listening on http://%s (table %s at %s)\n", ln.Addr(), table, endpoint)
	if *statsAddr == "" {
		return serveUntilDone(ctx, srv, ln)
	}
	statsLn, err := net.Listen("tcp", *statsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("stats: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/stats", redirect.StatsHandler(resolver))
	fmt.Fprintf(stdout, "cache counters at http://%s/stats\n", statsLn.Addr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	serve := func(s *http.Server, l net.Listener) {
		err := serveUntilDone(ctx, s, l)
		cancel() // one ending ends the other
		errs <- err
	}
	go serve(redirect.NewServer(mux, errLog), statsLn)
	go serve(srv, ln)
	return errors.Join(<-errs, <-errs)
}

// serveUntilDone serves until ctx ends, then shuts the server down gracefully.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
