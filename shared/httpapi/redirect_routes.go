package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type dnsRecordJSON struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Purpose string `json:"purpose"`
}

func toRecordJSON(r reroute.DNSRecord) dnsRecordJSON { return dnsRecordJSON(r) }

// domainJSON is where the route's hostname stands at the edge.
type domainJSON struct {
	State     reroute.DomainState `json:"state"`
	Reason    string              `json:"reason"`
	Verified  bool                `json:"verified"`
	ReleaseAt *time.Time          `json:"releaseAt,omitempty"` // only while unverified
	CheckedAt *time.Time          `json:"checkedAt,omitempty"`
}

// Where a route's redirects are answered, as routeJSON's edge says it.
const (
	servedAtEdge   = reroute.ServedAtEdge
	servedByOrigin = reroute.ServedByOrigin
	// servedPending: the edge sync has not seen the route yet; the origin
	// answers it meanwhile.
	servedPending = "pending"
	// reasonEdgeDisabled: the deployment has no KeyValueStore, so every route
	// is served by the origin.
	reasonEdgeDisabled = "edge_disabled"
)

// edgeReasons are the reasons a route is served by the origin that the API
// documents (openapi.json, EdgeStatus.reason).
var edgeReasons = map[string]bool{
	"too_large": true, "store_full": true, "not_redirecting": true, "invalid": true, reasonEdgeDisabled: true,
}

// edgeJSON is where a route's redirects are answered: at the edge (the
// CloudFront function, from the KeyValueStore) or by the origin, and why.
type edgeJSON struct {
	ServedFrom string     `json:"servedFrom"`
	Reason     string     `json:"reason,omitempty"`
	Records    int        `json:"records,omitempty"`
	Bytes      int        `json:"bytes,omitempty"`
	SyncedAt   *time.Time `json:"syncedAt,omitempty"`
}

// toEdgeJSON says where a route is served from. Without a KeyValueStore every route is
// the origin's, whatever an earlier deployment's sync left on it.
func (s *server) toEdgeJSON(e reroute.EdgeStatus) edgeJSON {
	if s.Config.EdgeStoreARN == "" {
		return edgeJSON{ServedFrom: servedByOrigin, Reason: reasonEdgeDisabled}
	}
	out := edgeJSON{ServedFrom: e.ServedFrom, Records: e.Records, Bytes: e.Bytes}
	switch e.ServedFrom {
	case servedAtEdge:
	case servedByOrigin:
		// Only the reasons the API documents; a newer sync's other reason is
		// left out rather than sent to clients that cannot word it.
		if edgeReasons[e.Reason] {
			out.Reason = e.Reason
		}
	default:
		// Not seen by the sync yet (or a value this API does not know): the
		// origin answers until the sync says otherwise.
		return edgeJSON{ServedFrom: servedPending}
	}
	if !e.SyncedAt.IsZero() {
		t := e.SyncedAt.UTC()
		out.SyncedAt = &t
	}
	return out
}

type routeJSON struct {
	Host      string `json:"host"`
	Target    string `json:"target"`
	Status    int    `json:"status"`
	KeepPath  bool   `json:"keepPath"`
	KeepQuery bool   `json:"keepQuery"`
	Enabled   bool   `json:"enabled"`
	Paused    bool   `json:"paused"` // beyond the plan's limit: answers "not configured"
	// State is what a visitor gets now, decided from the fields around it.
	State         reroute.RouteState `json:"state"`
	HTTPSRedirect bool               `json:"httpsRedirect"`
	HSTS          bool               `json:"hsts"`
	// RuleCount is how many path rules the route has; they are read through
	// its rules endpoint, so that lists of routes stay small.
	RuleCount   int             `json:"ruleCount"`
	PathOptions pathOptionsJSON `json:"pathOptions"`
	Fallback    fallbackJSON    `json:"fallback"`
	Domain      domainJSON      `json:"domain"`
	Edge        edgeJSON        `json:"edge"`
	CNAMETarget string          `json:"cnameTarget"`
	// DNSRecords are the records to create: the routing CNAME, then any
	// certificate validation records.
	DNSRecords      []dnsRecordJSON `json:"dnsRecords"`
	OwnershipRecord dnsRecordJSON   `json:"ownershipRecord"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	// Destination is what the monitor found of the target (GET of one route).
	Destination *destinationJSON `json:"destination,omitempty"`
}

func (s *server) toRouteJSON(r reroute.Route) routeJSON {
	out := routeJSON{
		Host: r.Host, Target: r.Target, Status: r.Status, KeepPath: r.KeepPath, KeepQuery: r.KeepQuery,
		Enabled: r.Enabled, Paused: r.Paused, State: r.State(), HTTPSRedirect: r.HTTPSRedirect, HSTS: r.HSTS,
		RuleCount:       r.RuleCount,
		PathOptions:     pathOptionsJSON(r.PathOptions),
		Fallback:        toFallbackJSON(r.Fallback),
		Domain:          domainJSON{State: r.Domain.State, Reason: r.Domain.Reason, Verified: r.Domain.Verified()},
		Edge:            s.toEdgeJSON(r.Edge),
		CNAMETarget:     s.Config.CNAMETarget,
		DNSRecords:      []dnsRecordJSON{toRecordJSON(reroute.RoutingRecord(r.Host, s.Config.CNAMETarget))},
		OwnershipRecord: toRecordJSON(reroute.OwnershipRecord(r.OrgID, r.Host)),
		CreatedAt:       r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.PathRules != nil {
		out.RuleCount = len(r.PathRules)
	}
	if out.Domain.State == "" {
		out.Domain.State = reroute.DomainPendingDNS
	}
	if !r.Domain.Verified() && !r.Domain.ReleaseAt.IsZero() {
		t := r.Domain.ReleaseAt
		out.Domain.ReleaseAt = &t
	}
	if !r.Domain.CheckedAt.IsZero() {
		t := r.Domain.CheckedAt
		out.Domain.CheckedAt = &t
	}
	for _, rec := range r.Domain.CertificateRecords {
		out.DNSRecords = append(out.DNSRecords, toRecordJSON(rec))
	}
	return out
}

type routeInput struct {
	Host   string `json:"host"`
	Target string `json:"target"` // optional with rules
	// Rules, PathOptions and Fallback are the route's path rules and how they
	// match; a route needs a target, rules, or both.
	Rules         []ruleInput       `json:"rules"`
	PathOptions   *pathOptionsInput `json:"pathOptions"`
	Fallback      *fallbackJSON     `json:"fallback"`
	Status        int               `json:"status"`
	KeepPath      bool              `json:"keepPath"`
	KeepQuery     bool              `json:"keepQuery"`
	Enabled       *bool             `json:"enabled"`
	HTTPSRedirect *bool             `json:"httpsRedirect"`
	HSTS          bool              `json:"hsts"`
	// Claim takes the hostname from another account's unverified route, once this
	// org's ownership record is in DNS.
	Claim bool `json:"claim"`
}

// routePatch holds the fields a PATCH may change; absent fields keep their value.
type routePatch struct {
	Target        *string `json:"target"`
	Status        *int    `json:"status"`
	KeepPath      *bool   `json:"keepPath"`
	KeepQuery     *bool   `json:"keepQuery"`
	Enabled       *bool   `json:"enabled"`
	HTTPSRedirect *bool   `json:"httpsRedirect"`
	HSTS          *bool   `json:"hsts"`
	// Target "" removes the whole-host redirect of a route with rules.
	PathOptions *pathOptionsInput `json:"pathOptions"`
	Fallback    *fallbackJSON     `json:"fallback"`
	// Rules replaces the route's rules, all of them.
	Rules *[]ruleInput `json:"rules"`
}

func (s *server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	f, err := routeFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	var p reroute.Page[reroute.Route]
	if f.empty() {
		p, err = s.Routes.ListRoutes(r.Context(), a.org.ID, page)
	} else {
		p, err = s.searchRoutes(r.Context(), a.org.ID, page, f)
	}
	if err != nil {
		return err
	}
	dests, err := s.destinations(r, a, p.Items)
	if err != nil {
		return err
	}
	out := list[routeJSON]{Items: make([]routeJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, rt := range p.Items {
		out.Items[i] = s.toRouteJSON(rt)
		out.Items[i].Destination = dests[rt.Host]
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	in, err := decode[routeInput](r)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	rt := reroute.Route{Host: in.Host, OrgID: a.org.ID, Target: in.Target, Status: in.Status,
		KeepPath: in.KeepPath, KeepQuery: in.KeepQuery, Enabled: in.Enabled == nil || *in.Enabled,
		HTTPSRedirect: in.HTTPSRedirect == nil || *in.HTTPSRedirect, HSTS: in.HSTS,
		CreatedAt: now, UpdatedAt: now}
	if in.PathOptions != nil {
		in.PathOptions.apply(&rt.PathOptions)
	}
	if in.Fallback != nil {
		rt.Fallback = in.Fallback.fallback()
	}
	for _, ri := range in.Rules {
		rt.PathRules = append(rt.PathRules, ri.rule())
	}
	if err := s.rules.Normalize(&rt); err != nil {
		return err
	}
	sortRules(rt.PathRules)
	if err := s.checkRuleLimit(a.org, len(rt.PathRules)); err != nil {
		return err
	}
	if reroute.IsWildcard(rt.Host) {
		if err := s.checkAllowed(a.org, allowsWildcards, "wildcard routes"); err != nil {
			return err
		}
	}
	rt.Domain = s.Domains.NewDomain(rt.Host)
	err = s.Routes.CreateRoute(r.Context(), rt)
	if err != nil && isHostTaken(err) {
		rt, err = s.claimOrRefuse(r.Context(), rt, in.Claim)
	}
	if err != nil {
		return err
	}
	rt = s.refreshDomain(r.Context(), rt)
	w.Header().Set("Location", "/v1/orgs/"+a.org.ID+"/routes/"+rt.Host)
	encodeJSON(w, http.StatusCreated, s.toRouteJSON(rt))
	return nil
}

func isHostTaken(err error) bool {
	var e *reroute.Error
	return errors.As(err, &e) && e.Reason == "host_taken"
}

// claimOrRefuse answers a new route whose hostname another route holds. The
// org's own route stays a plain conflict. Another org's unverified route may be
// claimed (with claim set) once this org's ownership record is in DNS; the
// refusal says whether it can be, and with which record.
func (s *server) claimOrRefuse(ctx context.Context, rt reroute.Route, claim bool) (reroute.Route, error) {
	held, err := s.Routes.GetRoute(ctx, rt.Host)
	switch {
	case reroute.IsNotFound(err):
		return rt, reroute.Errorf(reroute.CodeConflict, "host_taken", "that hostname was being released: try again")
	case err != nil:
		return rt, err
	case held.OrgID == rt.OrgID:
		return rt, reroute.Errorf(reroute.CodeConflict, "host_taken", "this org already routes that hostname")
	}
	record := toRecordJSON(reroute.OwnershipRecord(rt.OrgID, rt.Host))
	if held.Domain.Verified() {
		return rt, &claimError{err: reroute.Errorf(reroute.CodeConflict, "host_taken",
			"that hostname is routed and verified by another account"), record: record}
	}
	if !claim {
		return rt, &claimError{err: reroute.Errorf(reroute.CodeConflict, "host_taken",
			"that hostname is routed by another account that has not shown control of it: if it is yours, create the TXT record %s with the value %s, then claim it",
			record.Name, record.Value), claimable: true, record: record}
	}
	claimed, err := s.Domains.Claim(ctx, held, rt)
	var e *reroute.Error
	if errors.As(err, &e) && e.Reason == "ownership_not_proven" {
		return rt, &claimError{err: e, claimable: true, record: record}
	}
	if errors.As(err, &e) && e.Reason == "host_taken" {
		return rt, &claimError{err: e, record: record}
	}
	if errors.As(err, &e) && e.Reason == "route_verified" {
		// The holder showed control between our read and the claim: the same
		// refusal as for a route read verified.
		return rt, &claimError{err: reroute.Errorf(reroute.CodeConflict, "host_taken",
			"that hostname is routed and verified by another account"), record: record}
	}
	return claimed, err
}

// claimError is a refused route whose hostname another account holds, with what
// the problem tells about claiming it.
type claimError struct {
	err       *reroute.Error
	claimable bool
	record    dnsRecordJSON
}

func (e *claimError) Error() string { return e.err.Error() }
func (e *claimError) Unwrap() error { return e.err }

// domainLookBudget bounds the first look at a new route's domain within a
// request: what it cannot finish, the domain worker does minutes later.
const domainLookBudget = 5 * time.Second

// refreshDomain moves a route's domain on at once (its DNS looked up; its tenant
// created only if the CNAME is already there), so the answer shows where it
// stands; a failure only leaves it to the worker.
func (s *server) refreshDomain(ctx context.Context, rt reroute.Route) reroute.Route {
	ctx, cancel := context.WithTimeout(ctx, domainLookBudget)
	defer cancel()
	got, err := s.Domains.Refresh(ctx, rt)
	if err != nil {
		s.Log.WarnContext(ctx, "first look at a new domain failed; the worker carries on", "host", rt.Host, "err", err)
		return rt
	}
	return got
}

type checkJSON struct {
	OK       bool          `json:"ok"`
	Findings []findingJSON `json:"findings"`
	Route    routeJSON     `json:"route"`
}

type findingJSON struct {
	Level   string `json:"level"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// checkRoute looks the route's hostname up now and says what is right and what
// is wrong; the route's domain moves on with what it finds.
func (s *server) checkRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	if err := s.meterCheck(r.Context(), rt); err != nil {
		return err
	}
	c, err := s.Domains.Check(r.Context(), rt)
	if err != nil {
		return err
	}
	out := checkJSON{OK: c.OK, Findings: make([]findingJSON, len(c.Findings)), Route: s.toRouteJSON(c.Route)}
	for i, f := range c.Findings {
		out.Findings[i] = findingJSON(f)
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

// meterCheck counts a DNS check against its route's and its org's limits, in
// DynamoDB so that they hold across instances: past either, 429 with Retry-After.
func (s *server) meterCheck(ctx context.Context, rt reroute.Route) error {
	if s.Limiter == nil {
		return nil
	}
	return s.Limiter.Take(ctx, s.Now(),
		reroute.Limit{Kind: "route-check", Subject: rt.Host, What: "DNS checks of this route", Rate: s.Config.RouteChecks},
		reroute.Limit{Kind: "org-check", Subject: rt.OrgID, What: "DNS checks in this org", Rate: s.Config.OrgChecks})
}

// routeInPath loads the org's route named in the path; another org's is not found.
func (s *server) routeInPath(r *http.Request, a access) (reroute.Route, error) {
	notFound := errorf(reroute.CodeNotFound, "route_not_found", "no such route")
	host, err := reroute.NormalizeHost(r.PathValue("host"))
	if err != nil {
		return reroute.Route{}, notFound
	}
	rt, err := s.Routes.GetRoute(r.Context(), host)
	if reroute.IsNotFound(err) || err == nil && rt.OrgID != a.org.ID {
		return reroute.Route{}, notFound
	}
	return rt, err
}

func (s *server) getRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	out := s.toRouteJSON(rt)
	if out.Destination, err = s.destination(r, a, rt.Host); err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) updateRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	in, err := decode[routePatch](r)
	if err != nil {
		return err
	}
	rt, err := s.changeRoute(r, a, func(rt *reroute.Route) (reroute.RulesUpdate, error) {
		in.apply(rt)
		if in.Rules == nil {
			return reroute.KeepRules, nil
		}
		rt.PathRules = make([]reroute.PathRule, len(*in.Rules))
		for i, ri := range *in.Rules {
			rt.PathRules[i] = ri.rule()
		}
		return reroute.ReplaceRules, nil
	})
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, s.toRouteJSON(rt))
	return nil
}

func (in routePatch) apply(rt *reroute.Route) {
	if in.Target != nil {
		rt.Target = *in.Target
	}
	if in.Status != nil {
		rt.Status = *in.Status
	}
	if in.KeepPath != nil {
		rt.KeepPath = *in.KeepPath
	}
	if in.KeepQuery != nil {
		rt.KeepQuery = *in.KeepQuery
	}
	if in.Enabled != nil {
		rt.Enabled = *in.Enabled
	}
	if in.HTTPSRedirect != nil {
		rt.HTTPSRedirect = *in.HTTPSRedirect
	}
	if in.HSTS != nil {
		rt.HSTS = *in.HSTS
	}
	if in.PathOptions != nil {
		in.PathOptions.apply(&rt.PathOptions)
	}
	if in.Fallback != nil {
		rt.Fallback = in.Fallback.fallback()
	}
	if in.Status != nil && *in.Status == 0 {
		rt.Status = -1 // an explicit 0 is invalid, not "the default"
	}
}

// maxRouteAttempts bounds the read-modify-write of one route whose rules other
// writes keep changing under it.
const maxRouteAttempts = 3

// changeRoute reads the org's route named in the path, changes it with change,
// validates it and writes it back (its rules too if change says so), holding
// only while its rules are as read: when another write changed them, it reads
// the route again and changes it anew, up to maxRouteAttempts times, then
// answers 409 route_changed.
func (s *server) changeRoute(r *http.Request, a access, change func(*reroute.Route) (reroute.RulesUpdate, error)) (reroute.Route, error) {
	for attempt := 1; ; attempt++ {
		rt, err := s.routeInPath(r, a)
		if err != nil {
			return rt, err
		}
		mode, err := change(&rt)
		if err != nil {
			return rt, err
		}
		if err := s.rules.Normalize(&rt); err != nil {
			return rt, err
		}
		if mode == reroute.ReplaceRules {
			sortRules(rt.PathRules)
			if err := s.checkRuleLimit(a.org, len(rt.PathRules)); err != nil {
				return rt, err
			}
		}
		rt.UpdatedAt = s.Now().UTC()
		err = s.Routes.UpdateRoute(r.Context(), rt, mode)
		if err == nil || !isRouteChanged(err) || attempt == maxRouteAttempts {
			return rt, err
		}
	}
}

func isRouteChanged(err error) bool {
	var e *reroute.Error
	return errors.As(err, &e) && e.Reason == "route_changed"
}

func (s *server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
	if err := s.Routes.DeleteRoute(r.Context(), a.org.ID, rt.Host); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
