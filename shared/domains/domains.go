// Package domains carries route hostnames through their life at the edge: it
// registers a hostname when its route is created, moves pending ones on (the
// edge's tenant and certificate, the customer's DNS), releases routes that never
// show control of their hostname, removes what the edge holds for hostnames no
// route uses any more, and settles claims. It depends on reroute's interfaces
// only; the API calls it for one route, the scheduled worker for what is due.
package domains

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Store is what the service needs of the table.
type Store interface {
	reroute.DomainStore
	GetRoute(ctx context.Context, host string) (reroute.Route, error)
}

// Config is the service's settings.
type Config struct {
	// CNAMETarget is the name customers point their hostnames at.
	CNAMETarget string
	Policy      reroute.DomainPolicy
	// BatchSize bounds the items one Run takes on; zero means DefaultBatchSize.
	BatchSize int
	// LookTimeout bounds one look at a domain (DNS and edge); zero means
	// DefaultLookTimeout.
	LookTimeout time.Duration
}

// Defaults for Config's zero fields, and the pacing of the worker.
const (
	DefaultBatchSize   = 50
	DefaultLookTimeout = 15 * time.Second
	// maxUnavailable consecutive edge failures end a run early: the edge is
	// throttling or down, and the next run carries on.
	maxUnavailable = 3
	// releaseRecheck is the wait between release steps: a disabled tenant takes
	// minutes to deploy before it can be deleted.
	releaseRecheck = 2 * time.Minute
	// removalRecheck is the wait for a route whose removal is under way.
	removalRecheck = time.Minute
)

var _ reroute.Domains = (*Service)(nil)

// Service runs the domain lifecycle. It is safe for concurrent use.
type Service struct {
	store Store
	edge  reroute.Edge
	dns   reroute.DNSResolver
	cfg   Config
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
}

// New returns a Service. now is the clock, rand makes DNS probe names (both
// time.Now and crypto/rand.Reader outside tests).
func New(store Store, edge reroute.Edge, dns reroute.DNSResolver, cfg Config, now func() time.Time, rand io.Reader, log *slog.Logger) *Service {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.LookTimeout <= 0 {
		cfg.LookTimeout = DefaultLookTimeout
	}
	return &Service{store: store, edge: edge, dns: dns, cfg: cfg, now: now, rand: rand, log: log}
}

// NewDomain is the domain a route created now starts with.
func (s *Service) NewDomain(host string) reroute.Domain {
	return s.cfg.Policy.NewDomain(host, s.cfg.CNAMETarget, s.now())
}

// Result is one advance of a route's domain.
type Result struct {
	// Route is the route as stored after the advance (its domain moved on).
	Route reroute.Route
	// DNS is what DNS showed, nil when it could not be asked.
	DNS *reroute.DNSCheck
	// DNSErr is why DNS could not be asked.
	DNSErr error
	// EdgeErr is the edge's failure, if any (the route is saved all the same).
	EdgeErr error
	// Released: the route never showed control of its hostname and is gone.
	Released bool
}

// Advance looks at r's domain now (its DNS, its ownership record, the edge),
// moves it on and stores it. A route changed meanwhile is read again and
// returned as it is; a route gone meanwhile is CodeNotFound.
func (s *Service) Advance(ctx context.Context, r reroute.Route) (Result, error) {
	obs, res := s.look(ctx, r)
	step := s.cfg.Policy.Advance(r, s.cfg.CNAMETarget, obs)
	if step.Release {
		err := s.store.ReleaseRoute(ctx, r)
		switch {
		case err == nil:
			s.log.InfoContext(ctx, "route released: its hostname never pointed here", "host", r.Host, "org", r.OrgID)
			res.Route, res.Released = r, true
			return res, nil
		case reroute.ErrorCode(err) != reroute.CodeConflict:
			return res, err
		}
		// Verified meanwhile: read it again below.
	} else {
		err := s.store.SaveDomain(ctx, r, step.Domain)
		switch {
		case err == nil:
			r.Domain = step.Domain
			res.Route = r
			return res, nil
		case reroute.IsNotFound(err):
			if step.Domain.Refs != r.Domain.Refs && !step.Domain.Refs.IsZero() {
				// The edge made something for a route deleted meanwhile; the next
				// route for this hostname adopts it (the edge finds it by domain).
				s.log.WarnContext(ctx, "route went while its domain advanced", "host", r.Host, "tenant", step.Domain.Refs.TenantID)
			}
			return res, err
		case reroute.ErrorCode(err) != reroute.CodeConflict:
			return res, err
		}
	}
	cur, err := s.store.GetRoute(ctx, r.Host)
	if err != nil {
		return res, err
	}
	if cur.OrgID != r.OrgID {
		return res, reroute.Errorf(reroute.CodeNotFound, "route_not_found", "no such route")
	}
	res.Route = cur
	return res, nil
}

// look gathers an observation of r's domain: DNS first, so that the edge can
// be told whether to retry a failed certificate.
func (s *Service) look(ctx context.Context, r reroute.Route) (reroute.Observation, Result) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LookTimeout)
	defer cancel()
	var res Result
	obs := reroute.Observation{}
	lookup, err := s.dns.LookupDomain(ctx, reroute.DNSProbeName(r.Host, s.nonce()), s.cfg.CNAMETarget)
	if err != nil {
		res.DNSErr = err
		s.log.WarnContext(ctx, "DNS lookup failed", "host", r.Host, "err", err)
	} else {
		check := reroute.CheckDNS(r.Host, s.cfg.CNAMETarget, lookup)
		obs.DNS, res.DNS = &check, &check
	}
	if !r.Domain.Verified() {
		proven, err := s.ownershipProven(ctx, r.OrgID, r.Host)
		if err != nil {
			s.log.WarnContext(ctx, "ownership lookup failed", "host", r.Host, "err", err)
		}
		obs.OwnershipProven = proven
	}
	dnsReady := obs.DNS != nil && obs.DNS.PointsAtUs
	report, err := s.edge.Ensure(ctx, r.Host, r.Domain.Refs, dnsReady)
	if err != nil {
		obs.EdgeErr, res.EdgeErr = err, err
		s.log.WarnContext(ctx, "edge failed", "host", r.Host, "code", reroute.ErrorCode(err), "err", err)
	} else {
		obs.Edge = &report
	}
	obs.Now = s.now()
	return obs, res
}

// ownershipProven reports whether orgID's ownership record for host is in DNS.
func (s *Service) ownershipProven(ctx context.Context, orgID, host string) (bool, error) {
	rec := reroute.OwnershipRecord(orgID, host)
	txt, err := s.dns.LookupTXT(ctx, rec.Name)
	if err != nil {
		return false, err
	}
	return slices.Contains(txt, rec.Value), nil
}

// nonce is a random DNS label for probing a wildcard.
func (s *Service) nonce() string {
	b := make([]byte, 8)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "dnsreroute-probe"
	}
	return "dnsreroute-probe-" + hex.EncodeToString(b)
}

// Refresh advances r now and returns the route as stored; a released route is
// CodeNotFound.
func (s *Service) Refresh(ctx context.Context, r reroute.Route) (reroute.Route, error) {
	res, err := s.Advance(ctx, r)
	if err == nil && res.Released {
		return reroute.Route{}, reroute.Errorf(reroute.CodeNotFound, "route_not_found", "no such route")
	}
	return res.Route, err
}

// Check advances r now and says what is right and wrong with its DNS, the edge's
// own view among it.
func (s *Service) Check(ctx context.Context, r reroute.Route) (reroute.DomainCheck, error) {
	res, err := s.Advance(ctx, r)
	if err != nil {
		return reroute.DomainCheck{}, err
	}
	out := reroute.DomainCheck{Route: res.Route}
	switch {
	case res.DNS != nil:
		out.Findings = slices.Clone(res.DNS.Findings)
		out.OK = res.DNS.OK()
	default:
		out.Findings = []reroute.Finding{{Level: reroute.FindingError, Code: "dns_lookup_failed",
			Message: fmt.Sprintf("%s could not be looked up in DNS just now; try again in a minute.", r.Host)}}
	}
	if res.Released {
		out.OK = false
		out.Findings = append([]reroute.Finding{{Level: reroute.FindingError, Code: "route_released",
			Message: fmt.Sprintf("%s never pointed here within the time allowed, so the route was removed and the hostname released. Point DNS here, then add the route again.", r.Host)}},
			out.Findings...)
		return out, nil
	}
	// The edge's own view, where it adds to ours: a confirmation when both see
	// the hostname pointing here, a warning when only we do (resolvers differ while
	// a change spreads). When our lookup says it does not point here, that finding
	// already says what to do.
	if refs := res.Route.Domain.Refs; refs.TenantID != "" && res.DNS != nil && res.DNS.PointsAtUs {
		ok, reason, err := s.edge.VerifyDNS(ctx, r.Host, refs)
		switch {
		case err != nil:
			s.log.WarnContext(ctx, "edge DNS verification failed", "host", r.Host, "err", err)
		case ok:
			out.Findings = append(out.Findings, reroute.Finding{Level: reroute.FindingOK, Code: "edge_dns_ok",
				Message: fmt.Sprintf("The CDN sees %s pointing at it too.", r.Host)})
		default:
			out.Findings = append(out.Findings, reroute.Finding{Level: reroute.FindingWarning, Code: "edge_dns_pending",
				Message: fmt.Sprintf("The CDN does not see %s pointing at it yet (%s). DNS changes take a while to reach every resolver; this clears by itself.", r.Host, strings.TrimSuffix(reason, "."))})
		}
	}
	if ed := res.EdgeErr; ed != nil {
		msg := "The CDN could not be reached just now; the setup carries on automatically."
		var e *reroute.Error
		if errors.As(ed, &e) && reroute.ErrorCode(ed) != reroute.CodeUnavailable && reroute.ErrorCode(ed) != reroute.CodeInternal {
			msg = e.Message
		}
		out.Findings = append(out.Findings, reroute.Finding{Level: reroute.FindingWarning, Code: "edge_unavailable", Message: msg})
	}
	slices.SortStableFunc(out.Findings, func(a, b reroute.Finding) int { return levelRank(a.Level) - levelRank(b.Level) })
	return out, nil
}

func levelRank(level string) int {
	switch level {
	case reroute.FindingError:
		return 0
	case reroute.FindingWarning:
		return 1
	}
	return 2
}

// Claim gives host, held by another org's unverified route, to claimant, if
// claimant's org has its ownership record in DNS. The claimed route starts
// verified and keeps the hostname's edge refs.
func (s *Service) Claim(ctx context.Context, held, claimant reroute.Route) (reroute.Route, error) {
	if held.Domain.Verified() {
		return reroute.Route{}, reroute.Errorf(reroute.CodeConflict, "host_taken", "that hostname is routed and verified by another account")
	}
	rec := reroute.OwnershipRecord(claimant.OrgID, claimant.Host)
	proven, err := s.ownershipProven(ctx, claimant.OrgID, claimant.Host)
	if err != nil {
		return reroute.Route{}, &reroute.Error{Code: reroute.CodeUnavailable, Reason: "dns_unavailable",
			Message: "DNS could not be asked for the ownership record just now; try again in a minute", Err: err}
	}
	if !proven {
		return reroute.Route{}, reroute.Errorf(reroute.CodeConflict, "ownership_not_proven",
			"no TXT record %s with the value %s was found: create it, wait for DNS to update, and claim again", rec.Name, rec.Value)
	}
	claimant.Domain = s.NewDomain(claimant.Host)
	claimant.Domain.VerifiedAt = s.now()
	if err := s.store.ClaimRoute(ctx, held, claimant); err != nil {
		return reroute.Route{}, err
	}
	s.log.InfoContext(ctx, "hostname claimed", "host", claimant.Host, "from", held.OrgID, "to", claimant.OrgID)
	return claimant, nil
}

// RunStats counts what one Run did.
type RunStats struct {
	Due      int `json:"due"`
	Advanced int `json:"advanced"`
	Active   int `json:"active"` // of those advanced, active now
	Released int `json:"released"`
	Removed  int `json:"removed"` // releases finished: nothing left at the edge
	Errors   int `json:"errors"`
	// Stopped says why the run ended before the end of what was due, if it did.
	Stopped string `json:"stopped,omitempty"`
}

// Run takes on what is due now, up to BatchSize items, one at a time: it
// advances pending domains, releases routes that never showed control of their
// hostname, and carries releases on. It is idempotent (each item is saved on
// condition that it is as read), stops before ctx's deadline, and ends early when
// the edge keeps failing, leaving the rest to the next run.
func (s *Service) Run(ctx context.Context) (RunStats, error) {
	var st RunStats
	work, err := s.store.DueDomains(ctx, s.now(), s.cfg.BatchSize)
	if err != nil {
		return st, err
	}
	st.Due = len(work)
	unavailable := 0
	for _, w := range work {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.cfg.LookTimeout+2*time.Second {
			st.Stopped = "time"
			break
		}
		if unavailable >= maxUnavailable {
			st.Stopped = "edge unavailable"
			break
		}
		var edgeErr error
		switch {
		case w.Route != nil:
			res, err := s.Advance(ctx, *w.Route)
			edgeErr = res.EdgeErr
			switch {
			case err != nil && !reroute.IsNotFound(err):
				st.Errors++
				s.log.ErrorContext(ctx, "advancing a domain failed", "host", w.Route.Host, "err", err)
			case res.Released:
				st.Released++
			case err == nil:
				st.Advanced++
				if res.Route.Domain.State == reroute.DomainActive {
					st.Active++
				}
			}
		case w.Release != nil:
			done, err := s.release(ctx, *w.Release)
			edgeErr = err
			if err != nil {
				st.Errors++
				s.log.ErrorContext(ctx, "releasing a hostname failed", "host", w.Release.Host, "err", err)
			} else if done {
				st.Removed++
			}
		}
		if reroute.ErrorCode(edgeErr) == reroute.CodeUnavailable {
			unavailable++
		} else {
			unavailable = 0
		}
	}
	return st, nil
}

// release carries a release one step on; done is true once nothing is left.
// A release never removes what a route for the same hostname may use: while the
// released route itself is still there (its removal under way) it waits, and once
// another route holds the hostname it ends, since that route's edge adopts the
// tenant by its domain.
func (s *Service) release(ctx context.Context, rel reroute.Release) (bool, error) {
	now := s.now()
	cur, err := s.store.GetRoute(ctx, rel.Host)
	switch {
	case err == nil && cur.OrgID == rel.OrgID && cur.CreatedAt.Equal(rel.RouteCreatedAt):
		next := rel
		next.NextCheckAt = now.Add(removalRecheck)
		return false, ignoreChanged(s.store.SaveRelease(ctx, rel, next))
	case err == nil:
		s.log.InfoContext(ctx, "release ended: another route holds the hostname", "host", rel.Host, "org", cur.OrgID)
		return true, ignoreChanged(s.store.SaveRelease(ctx, rel, reroute.Release{}))
	case !reroute.IsNotFound(err):
		return false, err
	}
	lookCtx, cancel := context.WithTimeout(ctx, s.cfg.LookTimeout)
	left, err := s.edge.Release(lookCtx, rel.Host, rel.Refs)
	cancel()
	next := rel
	if err != nil {
		next.Failures++
		next.NextCheckAt = now.Add(min(releaseRecheck<<min(next.Failures, 4), 30*time.Minute))
		if serr := ignoreChanged(s.store.SaveRelease(ctx, rel, next)); serr != nil {
			return false, errors.Join(err, serr)
		}
		return false, err
	}
	next.Refs, next.Failures, next.NextCheckAt = left, 0, now.Add(releaseRecheck)
	if left.IsZero() {
		s.log.InfoContext(ctx, "hostname removed from the edge", "host", rel.Host)
	}
	return left.IsZero(), ignoreChanged(s.store.SaveRelease(ctx, rel, next))
}

// ignoreChanged drops a conflict: another run moved the item on meanwhile.
func ignoreChanged(err error) error {
	if reroute.ErrorCode(err) == reroute.CodeConflict {
		return nil
	}
	return err
}
