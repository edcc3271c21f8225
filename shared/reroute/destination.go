package reroute

import (
	"context"
	"time"
)

// DestinationState is how a route's target answered the monitor's probes.
type DestinationState string

const (
	DestinationUnknown DestinationState = "unknown" // not probed yet, or failing fewer times than it takes
	DestinationOK      DestinationState = "ok"
	DestinationBroken  DestinationState = "broken"
)

// DestinationBrokenAfter failed probes in a row make a destination broken; one
// success makes it ok again.
const DestinationBrokenAfter = 3

// Destination is what the monitor knows of a route's target.
type Destination struct {
	State     DestinationState
	Target    string // the URL last probed
	LastError string // why the last probe failed ("" after a success)
	CheckedAt time.Time
	Failures  int       // failed probes in a row
	Since     time.Time // when State began
}

// Next is d after a probe at now that succeeded (errText "") or failed with
// errText, and the event the change tells, if any: broken after
// DestinationBrokenAfter failures in a row, recovered at the first success
// after.
func (d Destination) Next(target, errText string, now time.Time) (Destination, EventType) {
	n := d
	n.Target, n.CheckedAt, n.LastError = target, now, errText
	if n.State == "" {
		n.State = DestinationUnknown
	}
	if errText == "" {
		n.Failures = 0
		if d.State != DestinationOK {
			n.State, n.Since = DestinationOK, now
		}
		if d.State == DestinationBroken {
			return n, EventDestinationRecovered
		}
		return n, ""
	}
	n.Failures++
	if n.Failures >= DestinationBrokenAfter && d.State != DestinationBroken {
		n.State, n.Since = DestinationBroken, now
		return n, EventDestinationBroken
	}
	return n, ""
}

// DestinationEventData is the data of destination.broken and
// destination.recovered.
type DestinationEventData struct {
	Host      string `json:"host"`
	Target    string `json:"target"`
	LastError string `json:"lastError,omitempty"`
	Failures  int    `json:"failures,omitempty"`
}

// DestinationStore keeps the monitor's findings, a route at a time.
type DestinationStore interface {
	// GetDestination returns what is known of host's target; a zero
	// Destination (state "") when nothing is.
	GetDestination(ctx context.Context, host string) (Destination, error)
	// GetDestinations returns what is known of each host's target (a page of
	// routes at once); a host nothing is known of is missing from the map.
	GetDestinations(ctx context.Context, hosts []string) (map[string]Destination, error)
	// SaveDestination stores next for orgID's host, on condition that it is
	// still prev (CodeConflict otherwise), with event (when not nil) in the
	// same transaction.
	SaveDestination(ctx context.Context, orgID, host string, prev, next Destination, event *Event) error
}
