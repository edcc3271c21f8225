package httpapi

import (
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// destinationJSON is what the destination monitor last found of a route's
// target. Monitored is false on plans without monitoring: the state is then
// "unknown".
type destinationJSON struct {
	State     reroute.DestinationState `json:"state"`
	Monitored bool                     `json:"monitored"`
	Target    string                   `json:"target,omitempty"`
	LastError string                   `json:"lastError,omitempty"`
	CheckedAt *time.Time               `json:"checkedAt,omitempty"`
	Since     *time.Time               `json:"since,omitempty"`
	Failures  int                      `json:"failures"`
}

// destination reads host's destination; nil when the deployment has no
// monitor (Deps.Destinations nil).
func (s *server) destination(r *http.Request, a access, host string) (*destinationJSON, error) {
	if s.Destinations == nil {
		return nil, nil
	}
	d, err := s.Destinations.GetDestination(r.Context(), host)
	if err != nil {
		return nil, err
	}
	return s.destinationOf(a, d), nil
}

// destinations reads the destinations of a page of routes at once, for the
// list: one BatchGetItem per 100 routes. Nil when there is no monitor.
func (s *server) destinations(r *http.Request, a access, routes []reroute.Route) (map[string]*destinationJSON, error) {
	if s.Destinations == nil || len(routes) == 0 {
		return nil, nil
	}
	hosts := make([]string, len(routes))
	for i, rt := range routes {
		hosts[i] = rt.Host
	}
	found, err := s.Destinations.GetDestinations(r.Context(), hosts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*destinationJSON, len(routes))
	for _, h := range hosts {
		out[h] = s.destinationOf(a, found[h])
	}
	return out, nil
}

// destinationOf is d as the API shows it to a's org.
func (s *server) destinationOf(a access, d reroute.Destination) *destinationJSON {
	plan, _ := s.Plans.Get(a.org.Plan)
	out := &destinationJSON{State: reroute.DestinationUnknown, Monitored: plan.Allows.DestinationMonitoring}
	if d.State != "" {
		out.State, out.Target, out.LastError, out.Failures = d.State, d.Target, d.LastError, d.Failures
		out.CheckedAt, out.Since = &d.CheckedAt, &d.Since
		if d.Since.IsZero() {
			out.Since = nil
		}
	}
	return out
}
