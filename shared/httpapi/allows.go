package httpapi

import (
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// allowancesOf are what the org's plan permits beyond its counted limits. An
// org on a plan the catalogue no longer has keeps what the free plan allows.
func (s *server) allowancesOf(org reroute.Org) reroute.Allowances {
	if p, ok := s.Plans.Get(org.Plan); ok {
		return p.Allows
	}
	if p, ok := s.Plans.Get(reroute.PlanFree); ok {
		return p.Allows
	}
	return reroute.Allowances{}
}

// checkAllowed refuses what the org's plan does not permit (403 not_in_plan):
// the API enforces every allowance GET /v1/plans advertises.
func (s *server) checkAllowed(org reroute.Org, allowed func(reroute.Allowances) bool, what string) error {
	if allowed(s.allowancesOf(org)) {
		return nil
	}
	return reroute.Errorf(reroute.CodeLimit, "not_in_plan", "the %s plan does not include %s: upgrade to use them", org.Plan, what)
}

func allowsWildcards(a reroute.Allowances) bool { return a.WildcardRoutes }
func allowsAPIKeys(a reroute.Allowances) bool   { return a.APIKeys }
