package reroute

import (
	"context"
	"fmt"
	"time"
)

// Redirect statuses a route may answer with.
const (
	StatusMovedPermanently  = 301
	StatusFound             = 302
	StatusTemporaryRedirect = 307
	StatusPermanentRedirect = 308

	DefaultStatus = StatusMovedPermanently
)

// Route answers the requests for Host (an exact name or a "*." wildcard): with its
// Target, its PathRules, or its Fallback.
//
// A route with a Target behaves as if it had one more rule: a subpath rule on "/"
// to Target with Status, KeepSuffix = KeepPath and KeepQuery = KeepQuery. Every
// path matches it, and any more specific rule beats it. A route without a Target
// answers a path no rule matches with its Fallback (by default "not configured").
type Route struct {
	Host      string
	OrgID     string
	Target    string // optional when the route has path rules
	Status    int
	KeepPath  bool // append the request path to the target's path
	KeepQuery bool // merge the request query into the target's
	// PathRules are matched before Target, the most specific first: an exact
	// rule beats a subpath one, a longer subpath beats a shorter one.
	PathRules []PathRule
	// RuleCount is len(PathRules) as stored; lists of routes carry it without
	// the rules themselves (ListRoutes leaves PathRules nil).
	RuleCount int
	// RulesVersion is the version of the stored rules, set by the store and moved
	// on by every write of them: an update holds only while it is still the
	// version read, so two edits of one route's rules never lose either.
	RulesVersion int64
	PathOptions  PathOptions
	Fallback     Fallback
	Enabled      bool
	// Paused is set by the store when the org's plan allows fewer routes than it
	// has: its newest routes beyond the limit are paused, and resume, oldest first,
	// as the org upgrades or frees room. A paused route answers "not configured".
	Paused bool
	// HTTPSRedirect sends a plain-HTTP request for an active domain to its HTTPS
	// URL first (on by default); HSTS adds Strict-Transport-Security to HTTPS answers.
	HTTPSRedirect bool
	HSTS          bool
	// Domain is where the hostname stands at the edge (CloudFront, its certificate).
	Domain Domain
	// Edge is where its redirects are answered: the CloudFront function from the
	// KeyValueStore, or the origin (set by the store from the edge sync's record).
	Edge      EdgeStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ValidStatus reports whether s is a redirect status a route may use.
func ValidStatus(s int) bool {
	switch s {
	case StatusMovedPermanently, StatusFound, StatusTemporaryRedirect, StatusPermanentRedirect:
		return true
	}
	return false
}

// Rules are the settings route validation depends on.
type Rules struct {
	// ServiceHost is the service's own redirect hostname (the CNAME target): no route
	// may claim it, and no target may point at it.
	ServiceHost string
}

// Normalize validates r and puts its host, target, rules and fallback in canonical
// form; a zero status becomes DefaultStatus. Every failing field is reported at
// once, a rule's as "rules[3].source". A route needs a target or at least one
// rule; no two rules may have the same source under its PathOptions ("/A" and
// "/a" with IgnoreCase, "/a" and "/a/" with IgnoreTrailingSlash).
func (rules Rules) Normalize(r *Route) error {
	var v invalid
	host, err := NormalizeHost(r.Host)
	if err != nil {
		v.add("host", "%s", err)
	} else if rules.ServiceHost != "" && (host == rules.ServiceHost || IsWildcard(host) && WildcardMatches(host, rules.ServiceHost)) {
		v.add("host", "%s is the service's own hostname and cannot be routed", rules.ServiceHost)
	} else {
		r.Host = host
	}
	if r.Status == 0 {
		r.Status = DefaultStatus
	}
	if !ValidStatus(r.Status) {
		v.add("status", "status must be 301, 302, 307 or 308")
	}
	if r.OrgID == "" {
		v.add("orgId", "a route belongs to an org")
	}
	// Rules alone are enough; without any, the target is what the route does.
	if r.Target != "" || len(r.PathRules) == 0 {
		if target, err := rules.normalizeTargetFor(host, r.Target); err != nil {
			v.add("target", "%s", err)
		} else {
			r.Target = target
		}
	}
	for i := range r.PathRules {
		rules.normalizeRule(host, &r.PathRules[i], fmt.Sprintf("rules[%d].", i), &v)
	}
	checkSources(r, &v)
	rules.normalizeFallback(host, &r.Fallback, r.Target != "", &v)
	return v.err()
}

// RouteStore keeps routes. Implementations enforce that a hostname belongs to one
// org at a time, in the database rather than by reading first.
type RouteStore interface {
	// GetRoute returns the route stored under exactly host, with all its path
	// rules and their RulesVersion, or a CodeNotFound error.
	GetRoute(ctx context.Context, host string) (Route, error)
	// CreateRoute stores a new route with its path rules and counts it on its
	// org, in one transaction:
	// a host already routed is CodeConflict "host_taken", whichever org holds it; an
	// org at its route limit, or a route with more rules than its RuleLimit, is
	// CodeLimit "plan_limit_reached"; a missing (or
	// being-deleted) org is CodeNotFound; a target leading back to the route
	// through other routes is CheckLoop's CodeInvalid.
	CreateRoute(ctx context.Context, r Route) error
	// UpdateRoute replaces the settings of a route of r.OrgID (everything but
	// Host, OrgID, Domain and CreatedAt) and, with ReplaceRules, its path rules
	// (r.PathRules, whole): CodeNotFound if that org has none; CodeConflict
	// "route_changed" if its rules are no longer at r.RulesVersion (read it again
	// and retry); CodeLimit "plan_limit_reached" for more rules than the org's
	// RuleLimit (a route over it after a downgrade may still lose rules);
	// CodeInvalid if a target leads back to it (CheckLoop).
	UpdateRoute(ctx context.Context, r Route, rules RulesUpdate) error
	// DeleteRoute removes orgID's route for host and uncounts it, in one
	// transaction; CodeNotFound if that org has none.
	DeleteRoute(ctx context.Context, orgID, host string) error
	// ListRoutes pages through an org's routes in host order, each with its
	// RuleCount but without its PathRules.
	ListRoutes(ctx context.Context, orgID string, page PageRequest) (Page[Route], error)
}

// RulesUpdate says whether UpdateRoute writes a route's path rules too.
type RulesUpdate bool

const (
	KeepRules    RulesUpdate = false // the stored rules stay as they are
	ReplaceRules RulesUpdate = true  // the route's rules become r.PathRules
)

// RouteFinder answers the redirect path: the route that serves a request host, exact
// match first, then the longest wildcard (see Candidates). found is false when no
// route matches; err is set only when the answer is unknown. A disabled or paused
// route is returned as found: the most specific route decides, and it answers
// "not configured".
type RouteFinder interface {
	FindRoute(ctx context.Context, host string) (r Route, found bool, err error)
}

// Paging bounds shared by every list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageRequest asks for one page: Cursor is the opaque NextCursor of the previous page.
type PageRequest struct {
	Limit  int
	Cursor string
}

// Size returns the page size to use: the default for zero, and an error outside 1..Max.
func (p PageRequest) Size() (int, error) {
	switch {
	case p.Limit == 0:
		return DefaultPageSize, nil
	case p.Limit < 0 || p.Limit > MaxPageSize:
		return 0, &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []FieldError{{Field: "limit", Message: "limit must be between 1 and 200"}}}
	}
	return p.Limit, nil
}

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}
