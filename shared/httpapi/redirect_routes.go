package httpapi

import (
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type dnsRecordJSON struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type routeJSON struct {
	Host        string          `json:"host"`
	Target      string          `json:"target"`
	Status      int             `json:"status"`
	KeepPath    bool            `json:"keepPath"`
	KeepQuery   bool            `json:"keepQuery"`
	Enabled     bool            `json:"enabled"`
	Paused      bool            `json:"paused"` // beyond the plan's limit: answers "not configured"
	CNAMETarget string          `json:"cnameTarget"`
	DNSRecords  []dnsRecordJSON `json:"dnsRecords"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
}

func (s *server) toRouteJSON(r reroute.Route) routeJSON {
	return routeJSON{
		Host: r.Host, Target: r.Target, Status: r.Status, KeepPath: r.KeepPath, KeepQuery: r.KeepQuery,
		Enabled: r.Enabled, Paused: r.Paused, CNAMETarget: s.Config.CNAMETarget,
		DNSRecords: []dnsRecordJSON{{Type: "CNAME", Name: r.Host, Value: s.Config.CNAMETarget}},
		CreatedAt:  r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

type routeInput struct {
	Host      string `json:"host"`
	Target    string `json:"target"`
	Status    int    `json:"status"`
	KeepPath  bool   `json:"keepPath"`
	KeepQuery bool   `json:"keepQuery"`
	Enabled   *bool  `json:"enabled"`
}

// routePatch holds the fields a PATCH may change; absent fields keep their value.
type routePatch struct {
	Target    *string `json:"target"`
	Status    *int    `json:"status"`
	KeepPath  *bool   `json:"keepPath"`
	KeepQuery *bool   `json:"keepQuery"`
	Enabled   *bool   `json:"enabled"`
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
	p, err := s.Routes.ListRoutes(r.Context(), a.org.ID, page)
	if err != nil {
		return err
	}
	out := list[routeJSON]{Items: make([]routeJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, rt := range p.Items {
		out.Items[i] = s.toRouteJSON(rt)
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
		CreatedAt: now, UpdatedAt: now}
	if err := s.rules.Normalize(&rt); err != nil {
		return err
	}
	if err := s.Routes.CreateRoute(r.Context(), rt); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/orgs/"+a.org.ID+"/routes/"+rt.Host)
	encodeJSON(w, http.StatusCreated, s.toRouteJSON(rt))
	return nil
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
	encodeJSON(w, http.StatusOK, s.toRouteJSON(rt))
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
	rt, err := s.routeInPath(r, a)
	if err != nil {
		return err
	}
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
	if in.Status != nil && *in.Status == 0 {
		rt.Status = -1 // an explicit 0 is invalid, not "the default"
	}
	if err := s.rules.Normalize(&rt); err != nil {
		return err
	}
	rt.UpdatedAt = s.Now().UTC()
	if err := s.Routes.UpdateRoute(r.Context(), rt); err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, s.toRouteJSON(rt))
	return nil
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
