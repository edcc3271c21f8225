// Command apiload puts the management API under load, end to end over real HTTP:
//
//	go run ./cmd/testenv -- go run ./cmd/apiload -clients 50 -duration 30s
//	go run ./cmd/testenv -- go run ./cmd/apiload -clients 4 -requests 4
//
// It creates a fresh table in the DynamoDB at DYNAMODB_ENDPOINT, serves the API on
// a loopback port exactly as `make dev` wires it (dev issuer, JWKS verifier, the
// real authenticator and store), and runs N concurrent clients, each its own user:
// half with a free org made through the API, half with an enterprise org made in
// the store. Each client alternately creates a route (a new hostname every time)
// and lists its org's routes, for a duration or, with -requests, a number of
// requests per client (whatever the machine's speed). A full org answers 403 plan_limit_reached, which is
// expected; any other answer or transport error is an error, and apiload exits
// non-zero if there was one. It reports requests, req/s and latency percentiles
// per operation.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/miekg/dns"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "apiload:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// Bounds of a run, whatever the flags say.
const (
	maxClients      = 2000
	maxPerClient    = 1_000_000
	maxDuration     = time.Hour
	maxBodySample   = 512 // bytes of an unexpected answer's body that are shown
	maxBodyRead     = 1 << 20
	requestTimeout  = 30 * time.Second
	shutdownTimeout = 10 * time.Second
	audience        = "dnsreroute-dashboard"
	serviceHost     = "localhost"
)

// config is a run's settings, from the flags.
type config struct {
	clients     int
	duration    time.Duration // 0 with perClient
	perClient   int           // requests each client sends; 0: for duration
	maxRequests int64
	showErrors  int
	table       string
	keepTable   bool
	logLevel    slog.Level
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("apiload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.clients, "clients", 50, fmt.Sprintf("concurrent clients, each its own user and org (1..%d)", maxClients))
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long the clients send requests (at most 1h)")
	fs.IntVar(&c.perClient, "requests", 0, "instead of -duration: how many requests each client sends, then stops")
	fs.Int64Var(&c.maxRequests, "max-requests", 1_000_000, "stop after this many requests in all")
	fs.IntVar(&c.showErrors, "show-errors", 5, "how many unexpected answers to print in full")
	fs.StringVar(&c.table, "table", "", `table to create ("apiload-<random>" if empty)`)
	fs.BoolVar(&c.keepTable, "keep-table", false, "keep the table afterwards")
	level := fs.String("log-level", "warn", "level of the API's logs written to stderr (info logs every request); all are formatted either way")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apiload [flags]   (needs DYNAMODB_ENDPOINT, as cmd/testenv sets it)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	switch {
	case fs.NArg() != 0:
		fmt.Fprintf(stderr, "apiload: unexpected arguments %q\n", fs.Args())
		return c, errUsage
	case c.clients < 1 || c.clients > maxClients:
		fmt.Fprintf(stderr, "apiload: -clients must be 1..%d\n", maxClients)
		return c, errUsage
	case c.perClient < 0 || c.perClient > maxPerClient:
		fmt.Fprintf(stderr, "apiload: -requests must be 1..%d\n", maxPerClient)
		return c, errUsage
	case c.perClient > 0 && durationSet:
		fmt.Fprintln(stderr, "apiload: -requests and -duration exclude each other: a run is bounded by one")
		return c, errUsage
	case c.perClient == 0 && (c.duration <= 0 || c.duration > maxDuration):
		fmt.Fprintln(stderr, "apiload: -duration must be more than 0 and at most 1h")
		return c, errUsage
	case c.maxRequests < 1:
		fmt.Fprintln(stderr, "apiload: -max-requests must be at least 1")
		return c, errUsage
	case c.showErrors < 0:
		fmt.Fprintln(stderr, "apiload: -show-errors must be 0 or more")
		return c, errUsage
	}
	if c.perClient > 0 {
		c.duration = 0
	}
	c.logLevel = logging.ParseLevel(*level)
	if c.table == "" {
		c.table = "apiload-" + strings.ToLower(rand.Text()[:10])
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	endpoint := getenv("DYNAMODB_ENDPOINT")
	if endpoint == "" {
		return errors.New("DYNAMODB_ENDPOINT is not set: run me under `go run ./cmd/testenv --`")
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	client := devstack.NewDynamoDBClient(endpoint)
	if err := dynamo.EnsureTable(ctx, client, dnsreroute.Template(), cfg.table); err != nil {
		return fmt.Errorf("create table %s: %w", cfg.table, err)
	}
	if !cfg.keepTable {
		defer func() {
			dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer dcancel()
			if _, err := client.DeleteTable(dctx, &dynamodb.DeleteTableInput{TableName: aws.String(cfg.table)}); err != nil {
				fmt.Fprintf(stderr, "apiload: deleting table %s: %v\n", cfg.table, err)
			}
		}()
	}
	store := dynamo.New(client, cfg.table)

	// The API's logs are formatted as in production (every request logs a line at
	// info), but only those at cfg.logLevel and above reach stderr.
	log := logging.New(&levelFilter{w: stderr, min: cfg.logLevel}, slog.LevelInfo)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	issuer, handler, err := newAPI(ctx, base, store, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := devstack.NewAPIServer(handler, slog.NewLogLogger(log.Handler(), slog.LevelWarn))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer scancel()
		_ = srv.Shutdown(sctx)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "apiload: serving the API: %v\n", err)
		}
	}()

	bound := cfg.duration.String()
	if cfg.perClient > 0 {
		bound = fmt.Sprintf("%d requests each", cfg.perClient)
	}
	fmt.Fprintf(stdout, "apiload: %d clients for %s against %s (table %s)\n", cfg.clients, bound, base, cfg.table)
	l := &loader{cfg: cfg, base: base, issuer: issuer, store: store, http: newHTTPClient(cfg.clients), errs: &errorLog{max: cfg.showErrors}}
	setupStart := time.Now()
	users, err := l.setup(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "setup: %d users, %d free orgs through the API, %d enterprise orgs in the store, in %s\n",
		len(users), l.freeOrgs, l.paidOrgs, time.Since(setupStart).Round(time.Millisecond))

	res := l.load(ctx, users)
	l.report(stdout, res)
	l.http.CloseIdleConnections()
	switch {
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case l.errs.count.Load() > 0:
		return fmt.Errorf("%d unexpected answers or transport errors", l.errs.count.Load())
	}
	return nil
}

// newAPI is the API as `make dev` builds it (cmd/dnsreroute's devAPI): a dev issuer
// named issuerURL, a verifier fetching its JWKS in-process, the real authenticator
// and store; the issuer is served beside the API, under the same origin.
func newAPI(ctx context.Context, issuerURL string, store *dynamo.Store, log *slog.Logger) (*devstack.DevIssuer, http.Handler, error) {
	issuer, err := devstack.NewDevIssuer(issuerURL, audience)
	if err != nil {
		return nil, nil, err
	}
	verifier, err := auth.NewJWTVerifier(ctx, auth.JWTConfig{Issuer: issuerURL, Audience: audience}, issuer.Client())
	if err != nil {
		return nil, nil, err
	}
	// As in `make dev`, on the local edge; DNS is a server of the run's own, so
	// that thousands of made-up hostnames never reach a public resolver.
	dnsAddr, err := serveEmptyDNS(ctx)
	if err != nil {
		return nil, nil, err
	}
	doms := domains.New(store, edge.NewLocal(), dnscheck.New(dnscheck.Config{Servers: []string{dnsAddr}}),
		domains.Config{CNAMETarget: serviceHost}, time.Now, rand.Reader, log)
	api := httpapi.NewServer(httpapi.Deps{
		Routes: store, Orgs: store, Keys: store, BillingStore: store,
		Idempotency: store, // Idempotency-Key of POST requests, kept 24 h
		Limiter:     store, // DNS checks metered as on AWS
		Domains:     doms,
		Auth:        auth.NewAuthenticator(verifier, store, nil, time.Now, log),
		Plans:       reroute.DefaultCatalog(),
		Config: httpapi.Config{
			CORSOrigins: []string{issuerURL},
			CNAMETarget: serviceHost,
			ServiceHost: serviceHost,
		},
		Log: log, Now: time.Now, Rand: rand.Reader,
	})
	mux := http.NewServeMux()
	mux.Handle("/v1/", api)
	mux.Handle("/", issuer.Handler())
	return issuer, mux, nil
}

// serveEmptyDNS answers every DNS query on a loopback UDP port with "no such
// name", until ctx ends.
func serveEmptyDNS(ctx context.Context) (string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNameError)
		m.RecursionAvailable = true
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	context.AfterFunc(ctx, func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String(), nil
}

// newHTTPClient is one client shared by every simulated user, keeping a connection
// per user alive so that the run measures requests, not TCP handshakes.
func newHTTPClient(clients int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConns = 2 * clients
	tr.MaxIdleConnsPerHost = 2 * clients
	return &http.Client{Transport: tr, Timeout: requestTimeout}
}

// levelFilter passes on the JSON log lines at min and above. slog's JSON handler
// writes one record per Write.
type levelFilter struct {
	w   io.Writer
	min slog.Level
	mu  sync.Mutex
}

var levelMarks = []struct {
	level slog.Level
	mark  []byte
}{
	{slog.LevelError, []byte(`"level":"ERROR"`)},
	{slog.LevelWarn, []byte(`"level":"WARN"`)},
	{slog.LevelInfo, []byte(`"level":"INFO"`)},
	{slog.LevelDebug, []byte(`"level":"DEBUG"`)},
}

func (f *levelFilter) Write(p []byte) (int, error) {
	level := slog.LevelError // a line without a known level is shown
	for _, m := range levelMarks {
		if bytes.Contains(p, m.mark) {
			level = m.level
			break
		}
	}
	if level < f.min {
		return len(p), nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// loader runs one load test.
type loader struct {
	cfg    config
	base   string
	issuer *devstack.DevIssuer
	store  *dynamo.Store
	http   *http.Client
	errs   *errorLog
	sent   atomic.Int64

	freeOrgs, paidOrgs int
}

// user is one simulated client: a signed-in user with an org of its own.
type user struct {
	n     int
	email string
	token string
	org   string
	plan  string
}

// setup makes each client's user and org, concurrently, a few at a time.
func (l *loader) setup(ctx context.Context) ([]user, error) {
	users := make([]user, l.cfg.clients)
	// Tokens outlive the run, whatever its length (a run by count is bounded by
	// its context only).
	ttl := l.cfg.duration + 10*time.Minute
	if l.cfg.perClient > 0 {
		ttl = maxDuration + 10*time.Minute
	}
	run := rand.Text()[:8]
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	sem := make(chan struct{}, 16)
	for i := range users {
		u := &users[i]
		u.n = i
		u.email = fmt.Sprintf("load-%d-%s@example.com", i, strings.ToLower(run))
		tok, err := l.issuer.Mint(u.email, ttl)
		if err != nil {
			return nil, fmt.Errorf("minting a token: %w", err)
		}
		u.token = tok
		if i%2 == 0 {
			u.plan = reroute.PlanFree
			l.freeOrgs++
		} else {
			u.plan = reroute.PlanEnterprise
			l.paidOrgs++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if u.plan == reroute.PlanFree {
				u.org, errs[i] = l.createFreeOrg(ctx, u)
			} else {
				u.org, errs[i] = l.createPaidOrg(ctx, u)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return users, nil
}

// createFreeOrg creates u's org through the API, as the dashboard does.
func (l *loader) createFreeOrg(ctx context.Context, u *user) (string, error) {
	body := fmt.Sprintf(`{"name":"Load %d"}`, u.n)
	status, b, err := l.do(ctx, http.MethodPost, "/v1/orgs", u.token, body)
	if err != nil {
		return "", fmt.Errorf("POST /v1/orgs: %w", err)
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("POST /v1/orgs: %d %s", status, excerpt(b))
	}
	var org struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &org); err != nil || org.ID == "" {
		return "", fmt.Errorf("POST /v1/orgs: no org id in %s", excerpt(b))
	}
	return org.ID, nil
}

// createPaidOrg creates u's enterprise org in the store, owned by u: plan changes
// arrive through billing, not the API.
func (l *loader) createPaidOrg(ctx context.Context, u *user) (string, error) {
	plan, ok := reroute.DefaultCatalog().Get(reroute.PlanEnterprise)
	if !ok {
		return "", errors.New("the catalogue has no enterprise plan")
	}
	id := "org_" + strings.ToLower(rand.Text()[:16])
	name := fmt.Sprintf("Load %d", u.n)
	now := time.Now().UTC()
	err := l.store.CreateOrg(ctx,
		reroute.Org{ID: id, Name: name, Plan: plan.Name, RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit, RuleLimit: plan.RuleLimit,
			MemberCount: 1, OwnerCount: 1, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: id, Email: u.email, Role: reroute.RoleOwner, OrgName: name, CreatedAt: now})
	if err != nil {
		return "", fmt.Errorf("creating org %s in the store: %w", id, err)
	}
	return id, nil
}

// op names an operation of the load.
type op int

const (
	opCreate op = iota
	opList
	numOps
)

var opNames = [numOps]string{"create", "list"}

// sample is one answered request.
type sample struct {
	latency time.Duration
	limited bool // an expected 403 plan_limit_reached
}

// results are the samples of one client, or of all.
type results struct {
	ops     [numOps][]sample
	elapsed time.Duration
}

// load runs the clients until the duration is over (or each has sent its
// requests), the request budget is spent, or ctx ends. A request under way when
// the time is up is finished and counted.
func (l *loader) load(ctx context.Context, users []user) results {
	deadline := time.Now().Add(l.cfg.duration)
	if l.cfg.perClient > 0 {
		deadline = time.Time{} // no deadline: the count ends the run
	}
	per := make([]results, len(users))
	start := time.Now()
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() { per[i] = l.client(ctx, &users[i], deadline) })
	}
	wg.Wait()
	var all results
	all.elapsed = time.Since(start)
	for _, r := range per {
		for o := range numOps {
			all.ops[o] = append(all.ops[o], r.ops[o]...)
		}
	}
	return all
}

// client is one user's loop: create a route, list routes, again.
func (l *loader) client(ctx context.Context, u *user, deadline time.Time) results {
	var r results
	routes := "/v1/orgs/" + u.org + "/routes"
	for i := 0; ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)); i++ {
		if l.cfg.perClient > 0 && i == l.cfg.perClient {
			break
		}
		if l.sent.Add(1) > l.cfg.maxRequests {
			break
		}
		o := op(i % 2)
		var (
			method, path, body string
		)
		switch o {
		case opCreate:
			method, path = http.MethodPost, routes
			body = fmt.Sprintf(`{"host":"r%d.c%d.%s.load.example.com","target":"https://example.org/landing","status":301}`,
				i/2, u.n, strings.TrimPrefix(u.org, "org_"))
		case opList:
			method, path = http.MethodGet, routes+"?limit=50"
		}
		t0 := time.Now()
		status, b, err := l.do(ctx, method, path, u.token, body)
		lat := time.Since(t0)
		if err != nil {
			if ctx.Err() != nil {
				break // interrupted: not the server's fault
			}
			l.errs.add(opNames[o], method+" "+path, 0, nil, err)
			continue
		}
		ok, limited := expected(o, status, b)
		if !ok {
			l.errs.add(opNames[o], method+" "+path, status, b, nil)
		}
		r.ops[o] = append(r.ops[o], sample{latency: lat, limited: limited})
	}
	return r
}

// do sends one request and reads its whole answer.
func (l *loader) do(ctx context.Context, method, path, token, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := l.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("reading the answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// expected reports whether an answer to o is one the load expects, and whether it
// is a refusal at the plan's limit: 201 or 403 plan_limit_reached for a create,
// 200 for a list.
func expected(o op, status int, body []byte) (ok, limited bool) {
	switch {
	case o == opCreate && status == http.StatusCreated:
		return true, false
	case o == opCreate && status == http.StatusForbidden && problemCode(body) == "plan_limit_reached":
		return true, true
	case o == opList && status == http.StatusOK:
		return true, false
	}
	return false, false
}

func problemCode(b []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Code
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxBodySample {
		s = s[:maxBodySample] + "…"
	}
	return s
}

// errorLog counts unexpected answers and keeps the first few.
type errorLog struct {
	max   int
	count atomic.Int64
	mu    sync.Mutex
	first []string
}

func (e *errorLog) add(op, req string, status int, body []byte, err error) {
	e.count.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.first) >= e.max {
		return
	}
	if err != nil {
		e.first = append(e.first, fmt.Sprintf("%s: %s: %v", op, req, err))
		return
	}
	e.first = append(e.first, fmt.Sprintf("%s: %s: %d %s", op, req, status, excerpt(body)))
}

// report prints one line per operation, then the unexpected answers.
func (l *loader) report(w io.Writer, r results) {
	secs := r.elapsed.Seconds()
	fmt.Fprintf(w, "load: %s, %d requests\n", r.elapsed.Round(time.Millisecond), len(r.ops[opCreate])+len(r.ops[opList]))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Cells are right-aligned; the names are padded to one width to read left-aligned.
	fmt.Fprintf(tw, "%-12s\trequests\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tlimit 403\t\n", "op")
	row := func(name string, ss []sample) {
		lats := make([]time.Duration, len(ss))
		limited := 0
		for i, s := range ss {
			lats[i] = s.latency
			if s.limited {
				limited++
			}
		}
		slices.Sort(lats)
		fmt.Fprintf(tw, "%-12s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n", name, len(ss), float64(len(ss))/secs,
			ms(pct(lats, 50)), ms(pct(lats, 90)), ms(pct(lats, 99)), ms(pct(lats, 100)), limited)
	}
	for o := range numOps {
		row(opNames[o], r.ops[o])
	}
	// Creates that were made and creates refused at the limit take different paths
	// (the refusal reads the org again), so each gets a line of its own.
	var made, refused []sample
	for _, s := range r.ops[opCreate] {
		if s.limited {
			refused = append(refused, s)
		} else {
			made = append(made, s)
		}
	}
	row("  create 201", made)
	row("  create 403", refused)
	tw.Flush()
	n := l.errs.count.Load()
	fmt.Fprintf(w, "unexpected answers: %d\n", n)
	l.errs.mu.Lock()
	defer l.errs.mu.Unlock()
	for _, e := range l.errs.first {
		fmt.Fprintln(w, "  "+e)
	}
	if int(n) > len(l.errs.first) {
		fmt.Fprintf(w, "  … and %d more\n", int(n)-len(l.errs.first))
	}
}

// pct is the p-th percentile of sorted by nearest rank (p=100 is the maximum).
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
