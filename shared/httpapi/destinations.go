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
	plan, _ := s.Plans.Get(a.org.Plan)
	out := &destinationJSON{State: reroute.DestinationUnknown, Monitored: plan.Allows.DestinationMonitoring}
	d, err := s.Destinations.GetDestination(r.Context(), host)
	if err != nil {
		return nil, err
	}
	if d.State != "" {
		out.State, out.Target, out.LastError, out.Failures = d.State, d.Target, d.LastError, d.Failures
		out.CheckedAt, out.Since = &d.CheckedAt, &d.Since
		if d.Since.IsZero() {
			out.Since = nil
		}
	}
	return out, nil
}
