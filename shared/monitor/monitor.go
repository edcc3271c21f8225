// Package monitor probes the targets of routes whose org's plan allows
// destination monitoring, about hourly, and records whether each still
// answers: HEAD, then GET when HEAD is refused (405, 501), a few redirects
// followed, never to a private address (safehttp). A target failing
// reroute.DestinationBrokenAfter probes in a row is broken, and recovers at
// the first success; each transition is an event, recorded with the state.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// UserAgent names the service on every probe, with a page that says why it calls.
const UserAgent = "DNSReRoute-Monitor/1 (+https://github.com/dnsreroute/dnsreroute#destination-monitoring)"

// Prober probes one URL.
type Prober struct {
	// Client must refuse private addresses and follow at most a few redirects
	// (safehttp.Guard.Client with MaxRedirects 5).
	Client  *http.Client
	Timeout time.Duration // per request
}

// Probe answers "" when url answers (any status below 400 after redirects),
// else why not, in words for the customer.
func (p Prober) Probe(ctx context.Context, url string) string {
	status, err := p.do(ctx, http.MethodHead, url)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		status, err = p.do(ctx, http.MethodGet, url)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", p.Timeout)
	case err != nil:
		var timeout interface{ Timeout() bool }
		if errors.As(err, &timeout) && timeout.Timeout() {
			return fmt.Sprintf("no answer within %s", p.Timeout)
		}
		msg := err.Error()
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return msg
	case status >= 300 && status < 400:
		return fmt.Sprintf("still redirecting (HTTP %d) after 5 redirects", status)
	case status >= 400:
		return fmt.Sprintf("HTTP %d", status)
	}
	return ""
}

func (p Prober) do(ctx context.Context, method, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", UserAgent)
	res, err := p.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 16<<10))
	return res.StatusCode, nil
}

// Orgs lists the orgs to consider (all of them, a page at a time).
type Orgs interface {
	Orgs(ctx context.Context) ([]reroute.Org, error)
}

// Routes reads an org's routes and one route with its rules.
type Routes interface {
	ListRoutes(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Route], error)
	GetRoute(ctx context.Context, host string) (reroute.Route, error)
}

// Monitor runs the probes.
type Monitor struct {
	Orgs   Orgs
	Routes Routes
	Store  reroute.DestinationStore
	Plans  reroute.Catalog
	Probe  func(ctx context.Context, url string) string
	// Budget bounds the probes of one run; orgs are taken in a random order, so
	// that over runs every org is reached when there are more targets than that.
	Budget int
	// RulesPerRoute bounds the path rules' targets sampled per route.
	RulesPerRoute int
	// Reserve is the time a run keeps before its context's deadline (the
	// function's timeout): no route is checked with less left, so that probes
	// cut short by the run's own end are never taken for a broken destination.
	Reserve time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

// Report says what a run did.
type Report struct {
	Probed, Broken, Recovered int
	OutOfBudget               bool
	// OutOfTime: the run stopped with routes left, its deadline near.
	OutOfTime bool
}

// Run probes what the budget allows.
func (m *Monitor) Run(ctx context.Context) (Report, error) {
	var rep Report
	orgs, err := m.Orgs.Orgs(ctx)
	if err != nil {
		return rep, err
	}
	rand.Shuffle(len(orgs), func(i, j int) { orgs[i], orgs[j] = orgs[j], orgs[i] }) //nolint:gosec // G404: an order to spread the budget, not a secret
	for _, org := range orgs {
		if plan, ok := m.Plans.Get(org.Plan); !ok || !plan.Allows.DestinationMonitoring {
			continue
		}
		page := reroute.PageRequest{Limit: reroute.MaxPageSize}
		for {
			p, err := m.Routes.ListRoutes(ctx, org.ID, page)
			if err != nil {
				return rep, err
			}
			for _, r := range p.Items {
				if !r.Enabled || r.Paused {
					continue
				}
				if rep.Probed >= m.Budget {
					rep.OutOfBudget = true
					return rep, nil
				}
				if d, ok := ctx.Deadline(); ok && d.Sub(m.Now()) < m.Reserve {
					rep.OutOfTime = true
					return rep, nil
				}
				if err := m.check(ctx, r, &rep); err != nil {
					if ctx.Err() != nil {
						rep.OutOfTime = true
						return rep, nil
					}
					return rep, err
				}
			}
			if page.Cursor = p.NextCursor; page.Cursor == "" {
				break
			}
		}
	}
	return rep, nil
}

// check probes a route's target and a sample of its rules' targets; the route
// fails if any fails, and says which.
func (m *Monitor) check(ctx context.Context, r reroute.Route, rep *Report) error {
	var targets []string
	if r.Target != "" {
		targets = append(targets, r.Target)
	}
	if r.RuleCount > 0 && m.RulesPerRoute > 0 {
		full, err := m.Routes.GetRoute(ctx, r.Host)
		if err != nil {
			return err
		}
		rules := full.PathRules
		for _, i := range rand.Perm(len(rules))[:min(m.RulesPerRoute, len(rules))] { //nolint:gosec // G404: a sample, not a secret
			targets = append(targets, rules[i].Target)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	checked, errText := targets[0], ""
	for _, t := range targets {
		rep.Probed++
		if e := m.Probe(ctx, t); e != "" {
			checked, errText = t, e
			break
		}
	}
	if err := ctx.Err(); err != nil {
		// The run is ending: what the probes saw says nothing of the target.
		return err
	}
	prev, err := m.Store.GetDestination(ctx, r.Host)
	if err != nil {
		return err
	}
	next, evType := prev.Next(checked, errText, m.Now().UTC())
	var ev *reroute.Event
	if evType != "" {
		e, err := reroute.NewEvent(evType, r.OrgID, next.CheckedAt, reroute.DestinationEventData{
			Host: r.Host, Target: checked, LastError: errText, Failures: next.Failures})
		if err != nil {
			return err
		}
		ev = &e
		if evType == reroute.EventDestinationBroken {
			rep.Broken++
		} else {
			rep.Recovered++
		}
	}
	err = m.Store.SaveDestination(ctx, r.OrgID, r.Host, prev, next, ev)
	if reroute.ErrorCode(err) == reroute.CodeConflict {
		m.Log.Warn("destination checked meanwhile: this probe not recorded", "host", r.Host)
		return nil
	}
	return err
}
