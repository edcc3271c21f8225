package httpapi

import (
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type usageJSON struct {
	Routes      int `json:"routes"`
	RouteLimit  int `json:"routeLimit"`
	Members     int `json:"members"`
	MemberLimit int `json:"memberLimit"`
	// RuleLimit bounds the path rules of each route.
	RuleLimit int `json:"ruleLimit"`
}

func (s *server) usage(o reroute.Org) usageJSON {
	return usageJSON{Routes: o.RouteCount, RouteLimit: o.RouteLimit, Members: o.MemberCount, MemberLimit: o.MemberLimit,
		RuleLimit: s.ruleLimit(o)}
}

type orgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Plan      string    `json:"plan"`
	PastDue   bool      `json:"pastDue"`
	Role      string    `json:"role,omitempty"` // the caller's
	Usage     usageJSON `json:"usage"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (s *server) toOrgJSON(o reroute.Org, role reroute.Role) orgJSON {
	return orgJSON{
		ID: o.ID, Name: o.Name, Plan: o.Plan, PastDue: o.Billing.PastDue(), Role: string(role),
		Usage:     s.usage(o),
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
}

type orgInput struct {
	Name string `json:"name"`
}

func (s *server) createOrg(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r.Context())
	if err := userOnly(c); err != nil {
		return err
	}
	in, err := decode[orgInput](r)
	if err != nil {
		return err
	}
	name, err := reroute.NormalizeOrgName(in.Name)
	if err != nil {
		return err
	}
	free, ok := s.Plans.Get(reroute.PlanFree)
	if !ok {
		return errorf(reroute.CodeInternal, "no_free_plan", "the plan catalogue has no free plan")
	}
	id, err := s.newID("org_")
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	org := reroute.Org{ID: id, Name: name, Plan: free.Name, RouteLimit: free.RouteLimit, MemberLimit: free.MemberLimit, RuleLimit: free.RuleLimit,
		MemberCount: 1, OwnerCount: 1, CreatedAt: now, UpdatedAt: now}
	owner := reroute.Member{OrgID: id, Email: c.Email, Role: reroute.RoleOwner, OrgName: name, CreatedAt: now}
	if err := s.Orgs.CreateOrg(r.Context(), org, owner); err != nil {
		return err
	}
	noteOrg(r.Context(), id)
	w.Header().Set("Location", "/v1/orgs/"+id)
	encodeJSON(w, http.StatusCreated, s.toOrgJSON(org, reroute.RoleOwner))
	return nil
}

func (s *server) getOrg(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readOrg)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, s.toOrgJSON(a.org, a.role))
	return nil
}

func (s *server) updateOrg(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageOrg)
	if err != nil {
		return err
	}
	in, err := decode[orgInput](r)
	if err != nil {
		return err
	}
	name, err := reroute.NormalizeOrgName(in.Name)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	if err := s.Orgs.RenameOrg(r.Context(), a.org.ID, name, now); err != nil {
		return err
	}
	a.org.Name, a.org.UpdatedAt = name, now
	encodeJSON(w, http.StatusOK, s.toOrgJSON(a.org, a.role))
	return nil
}

// deleteOrg cancels the subscription first: if billing fails, nothing is deleted
// and the org keeps working, rather than a deleted org that is still billed.
func (s *server) deleteOrg(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, deleteOrg)
	if err != nil {
		return err
	}
	if err := s.cancelSubscription(r, a.org); err != nil {
		return err
	}
	if err := s.Orgs.DeleteOrg(r.Context(), a.org.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type meJSON struct {
	Email string         `json:"email"`
	Orgs  []membershipJS `json:"orgs"`
}

type membershipJS struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Plan string `json:"plan"`
	Role string `json:"role"`
}

func (s *server) getMe(w http.ResponseWriter, r *http.Request) error {
	c := callerOf(r.Context())
	if err := userOnly(c); err != nil {
		return err
	}
	ms, err := s.Orgs.ListMemberships(r.Context(), c.Email)
	if err != nil {
		return err
	}
	out := meJSON{Email: c.Email, Orgs: make([]membershipJS, 0, len(ms))}
	for _, m := range ms {
		org, err := s.Orgs.GetOrg(r.Context(), m.OrgID)
		if reroute.IsNotFound(err) {
			continue // deleted in the meantime
		}
		if err != nil {
			return err
		}
		out.Orgs = append(out.Orgs, membershipJS{ID: org.ID, Name: org.Name, Plan: org.Plan, Role: string(m.Role)})
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) listPlans(w http.ResponseWriter, r *http.Request) error {
	type planJSON struct {
		reroute.Plan
		// Features are written from the limits and allowances beside them.
		Features  []string `json:"features"`
		Available bool     `json:"available"` // free, or on sale through Stripe
	}
	plans := make([]planJSON, len(s.Plans))
	for i, p := range s.Plans {
		plans[i] = planJSON{Plan: p, Features: p.Features(), Available: !p.Paid() || p.StripePriceID != "" && s.Payments != nil}
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	encodeJSON(w, http.StatusOK, struct {
		Plans []planJSON `json:"plans"`
	}{plans})
	return nil
}
