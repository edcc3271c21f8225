// Package redirect answers requests for customer hostnames with their redirects. A
// Resolver finds the route through a bounded in-process cache in front of a
// reroute.RouteFinder; the HTTP and Lambda fronts render what it decides.
package redirect

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Config tunes the resolver and the answers. Zero fields take the defaults below.
type Config struct {
	// ServiceHost is the service's own hostname: it answers /healthz and a home page,
	// never a customer's redirect.
	ServiceHost string
	// CacheSize bounds the number of request hosts kept in memory.
	CacheSize int
	// CacheRules bounds the path rules of the routes kept in memory, summed over
	// the cached hosts: a host with 10,000 rules weighs as much as 10,000 hosts
	// without, so a few large routes cannot exhaust the function's memory.
	CacheRules int
	// PositiveTTL is how long a found route is served before the store is asked again;
	// NegativeTTL the same for a host with no route.
	PositiveTTL time.Duration
	NegativeTTL time.Duration
	// MaxStale is how long a known answer keeps being served while the store fails.
	MaxStale time.Duration
	// RetryBackoff is how long to serve stale after a failed refresh before retrying.
	RetryBackoff time.Duration
	// LookupTimeout bounds one store lookup, retries included.
	LookupTimeout time.Duration
	// PermanentMaxAge is the Cache-Control max-age of 301 and 308 answers.
	PermanentMaxAge time.Duration
	// NoHTTPS says the service is reached over plain HTTP only (a local stack
	// without a CDN): no request is ever sent to HTTPS, whatever its route says.
	NoHTTPS bool
}

// Defaults for Config's zero fields.
const (
	DefaultCacheSize       = 10_000
	DefaultCacheRules      = 100_000 // at most about 80 MB: compiling a rule allocates under 800 bytes
	DefaultPositiveTTL     = 60 * time.Second
	DefaultNegativeTTL     = 10 * time.Second
	DefaultMaxStale        = 24 * time.Hour
	DefaultRetryBackoff    = 2 * time.Second
	DefaultLookupTimeout   = 2 * time.Second
	DefaultPermanentMaxAge = time.Hour
)

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.CacheSize <= 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.CacheRules <= 0 {
		c.CacheRules = DefaultCacheRules
	}
	def(&c.PositiveTTL, DefaultPositiveTTL)
	def(&c.NegativeTTL, DefaultNegativeTTL)
	def(&c.MaxStale, DefaultMaxStale)
	def(&c.RetryBackoff, DefaultRetryBackoff)
	def(&c.LookupTimeout, DefaultLookupTimeout)
	def(&c.PermanentMaxAge, DefaultPermanentMaxAge)
	return c
}

// Kind says what a resolution decided.
type Kind uint8

const (
	KindRedirect      Kind = iota + 1 // a route answers: Status and Location are set
	KindNotConfigured                 // no redirect for the request: 404, Reason says why
	KindUnavailable                   // the store failed and nothing is known: 503
	KindService                       // the service's own hostname
	// KindUpgrade: a plain-HTTP request for a route that sends HTTP to HTTPS;
	// Status (301) and Location (the same URL over HTTPS) are set.
	KindUpgrade
	// KindTargetTooLong: the request target exceeds MaxTargetBytes: 414, and
	// nothing of it is echoed.
	KindTargetTooLong
	// KindGone: no path rule matches and the route's fallback is "gone": 410.
	KindGone
)

// Reason says why a KindNotConfigured result has no redirect: its page tells the
// visitor which, without naming the route's owner.
type Reason uint8

const (
	ReasonNone        Reason = iota
	ReasonUnknownHost        // no route for the host (or no usable host at all)
	ReasonPaused             // the route is paused: its org's plan has no room for it
	ReasonDisabled           // the route's owner switched it off
	ReasonNoRule             // the route has no rule for the path and no fallback
)

// MaxTargetBytes bounds a request target (path, '?' and query) that is answered:
// a kept path is echoed into Location and the page, so an unbounded one makes an
// unbounded answer. It is CloudFront's own limit on a URL ("Maximum length of a
// URL: 8,192 bytes", https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html),
// so nothing CloudFront forwards is refused.
const MaxTargetBytes = 8192

// Request is what the resolver needs of one request.
type Request struct {
	// Host is the host as received: port, case and a trailing dot allowed.
	Host string
	// Path and Query are raw, as they came on the request line (Query without '?').
	Path  string
	Query string
	// Secure reports that the viewer reached the service over HTTPS (as the front
	// tells it: TLS, or a trusted proxy's forwarded scheme).
	Secure bool
}

// Result is a resolution: what to answer for one request.
type Result struct {
	Kind     Kind
	Status   int
	Location string
	// HSTS is the Strict-Transport-Security value the answer carries, or "": set
	// only on an HTTPS redirect of a route with HSTS on.
	HSTS string
	// Reason is set on KindNotConfigured only.
	Reason Reason
	body   string // the redirect's page, when precomputed
	host   string // the host looked up (normalized), shown on the not-configured page
}

// Resolver decides the answer for a request host. It is safe for concurrent use.
type Resolver struct {
	finder reroute.RouteFinder
	cfg    Config
	cache  *cache
	group  singleflight.Group
	now    func() time.Time
	log    *slog.Logger
	// lookups counts the store's lookups (not the cache's hits, which would cost
	// every request a shared counter).
	lookups atomic.Uint64
}

// NewResolver builds a Resolver over finder. now is the clock (time.Now outside tests).
func NewResolver(finder reroute.RouteFinder, cfg Config, now func() time.Time, log *slog.Logger) *Resolver {
	cfg = cfg.withDefaults()
	cfg.ServiceHost = reroute.LookupHost(cfg.ServiceHost) // as request hosts are compared
	return &Resolver{finder: finder, cfg: cfg, cache: newCache(cfg.CacheSize, cfg.CacheRules), now: now, log: log}
}

// Config returns the configuration in force, defaults applied.
func (r *Resolver) Config() Config { return r.cfg }

// Resolve decides the answer for a request. A plain-HTTP request for a route that
// upgrades (HTTPSRedirect on, its domain active at the edge) is sent to its own URL
// over HTTPS first; the service's own hostname and routes that answer "not
// configured" are never upgraded.
func (r *Resolver) Resolve(ctx context.Context, req Request) Result {
	if targetLen(req.Path, req.Query) > MaxTargetBytes {
		return Result{Kind: KindTargetTooLong, Status: 414}
	}
	host := reroute.LookupHost(req.Host)
	switch {
	case host == "":
		return Result{Kind: KindNotConfigured, Status: 404, Reason: ReasonUnknownHost}
	case host == r.cfg.ServiceHost:
		return Result{Kind: KindService}
	}
	ro, ok := r.lookup(ctx, host)
	switch {
	case !ok:
		return Result{Kind: KindUnavailable, Status: 503}
	case ro == nil:
		return Result{Kind: KindNotConfigured, Status: 404, Reason: ReasonUnknownHost, host: host}
	case !ro.enabled:
		return Result{Kind: KindNotConfigured, Status: 404, Reason: ro.off, host: host}
	case !req.Secure && ro.upgrade && !r.cfg.NoHTTPS:
		return Result{Kind: KindUpgrade, Status: upgradeStatus, Location: upgradeLocation(host, req.Path, req.Query)}
	}
	var res Result
	if ru, loc, matched := ro.m.Match(req.Path, req.Query); matched {
		res = Result{Kind: KindRedirect, Status: ru.Status(), Location: loc, body: ro.body(ru, loc)}
	} else {
		switch gone, fb := ro.m.Fallback(); {
		case fb != nil:
			res = Result{Kind: KindRedirect, Status: fb.Status(), Location: fb.Target(), body: ro.body(fb, fb.Target())}
		case gone:
			res = Result{Kind: KindGone, Status: 410}
		default:
			return Result{Kind: KindNotConfigured, Status: 404, Reason: ReasonNoRule, host: host}
		}
	}
	if req.Secure {
		res.HSTS = ro.hsts
	}
	return res
}

// targetLen is the length of the request target path and query came from.
func targetLen(path, query string) int {
	if query == "" {
		return len(path)
	}
	return len(path) + 1 + len(query)
}

// lookup returns the compiled route for host (nil: no route). ok is false only when the store
// failed and nothing usable is known.
func (r *Resolver) lookup(ctx context.Context, host string) (ro *route, ok bool) {
	now := r.now()
	e, cached := r.cache.get(host)
	if cached && (now.Before(e.freshUntil) || now.Before(e.retryAt)) {
		return e.route, true
	}
	v, err, _ := r.group.Do(host, func() (any, error) { return r.refresh(ctx, host) })
	if err == nil {
		return v.(*route), true
	}
	if cached && now.Sub(e.fetched) < r.cfg.MaxStale {
		r.cache.backOff(host, now.Add(r.cfg.RetryBackoff))
		r.log.WarnContext(ctx, "serving stale route: store lookup failed", "host", host, "age", now.Sub(e.fetched).String(), "err", err)
		return e.route, true
	}
	r.log.ErrorContext(ctx, "store lookup failed and nothing is cached", "host", host, "err", err)
	return nil, false
}

// refresh asks the store for host and caches the answer. It runs once per host at a
// time (singleflight); its context outlives the first caller's cancellation so that
// the callers sharing it are not failed by one that left.
func (r *Resolver) refresh(ctx context.Context, host string) (*route, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LookupTimeout)
	defer cancel()
	r.lookups.Add(1)
	route, found, err := r.finder.FindRoute(ctx, host)
	if err != nil {
		return nil, err
	}
	now := r.now()
	if !found {
		r.cache.put(host, nil, now, now.Add(r.cfg.NegativeTTL))
		return nil, nil
	}
	ro, err := compile(route)
	if err != nil {
		// A stored target that does not parse was never valid: treat as no route.
		r.log.ErrorContext(ctx, "stored route has an invalid target", "host", route.Host, "err", err)
		r.cache.put(host, nil, now, now.Add(r.cfg.NegativeTTL))
		return nil, nil
	}
	r.cache.put(host, ro, now, now.Add(r.cfg.PositiveTTL))
	return ro, nil
}

// CachedHosts reports how many request hosts the cache holds.
func (r *Resolver) CachedHosts() int { return r.cache.len() }

// Stats is what the resolver has done so far.
type Stats struct {
	// CachedHosts is the number of request hosts in the cache.
	CachedHosts int `json:"cachedHosts"`
	// CachedRules is the path rules of the cached routes, summed (CacheRules bounds it).
	CachedRules int `json:"cachedRules"`
	// StoreLookups counts the lookups sent to the store (cache misses and
	// refreshes, failed ones included); requests answered from the cache ask none.
	StoreLookups uint64 `json:"storeLookups"`
}

// Stats reports the cache's size and how many lookups reached the store: a
// second pass over hosts that leaves StoreLookups unchanged was answered from
// the cache.
func (r *Resolver) Stats() Stats {
	return Stats{CachedHosts: r.cache.len(), CachedRules: r.cache.rulesHeld(), StoreLookups: r.lookups.Load()}
}

func (k Kind) String() string {
	switch k {
	case KindRedirect:
		return "redirect"
	case KindNotConfigured:
		return "not_configured"
	case KindUnavailable:
		return "unavailable"
	case KindService:
		return "service"
	case KindUpgrade:
		return "upgrade"
	case KindTargetTooLong:
		return "target_too_long"
	case KindGone:
		return "gone"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonUnknownHost:
		return "unknown host"
	case ReasonPaused:
		return "paused"
	case ReasonDisabled:
		return "disabled"
	case ReasonNoRule:
		return "no rule"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}
