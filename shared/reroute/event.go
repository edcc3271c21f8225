package reroute

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// EventType names something that happened to an org that its members and its
// systems may want to hear about (by email, by webhook).
type EventType string

// The events an org hears about. Each is recorded where the change is made, in
// the same write as the change, so that it is told exactly once per change.
const (
	EventRouteCreated           EventType = "route.created"
	EventRouteUpdated           EventType = "route.updated"
	EventRouteDeleted           EventType = "route.deleted"
	EventDomainActive           EventType = "domain.active"
	EventDomainFailed           EventType = "domain.failed"
	EventDomainReleaseScheduled EventType = "domain.release_scheduled"
	EventDomainReleased         EventType = "domain.released"
	EventBillingPlanChanged     EventType = "billing.plan_changed"
	EventBillingPaymentFailed   EventType = "billing.payment_failed"
	EventRoutesPaused           EventType = "routes.paused"
	EventRoutesResumed          EventType = "routes.resumed"
	EventDestinationBroken      EventType = "destination.broken"
	EventDestinationRecovered   EventType = "destination.recovered"
	EventImportCompleted        EventType = "import.completed"
	// EventWebhookTest is sent on request to one endpoint, to try it.
	EventWebhookTest EventType = "webhook.test"
)

// EventTypes are the events an endpoint or a member may subscribe to, in order.
var EventTypes = []EventType{
	EventRouteCreated, EventRouteUpdated, EventRouteDeleted,
	EventDomainActive, EventDomainFailed, EventDomainReleaseScheduled, EventDomainReleased,
	EventBillingPlanChanged, EventBillingPaymentFailed, EventRoutesPaused, EventRoutesResumed,
	EventDestinationBroken, EventDestinationRecovered, EventImportCompleted,
}

// Valid reports whether t is an event one may subscribe to.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Event is one thing that happened to an org. ID is unique and stable: every
// delivery of the event carries it, so a receiver can drop a repeat.
type Event struct {
	ID    string
	Type  EventType
	OrgID string
	Time  time.Time
	// Data is the event's JSON object, its shape fixed per type (see the README).
	Data json.RawMessage
}

var eventIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewEvent returns an event of type t for orgID at now, with a new random id and
// data encoded as JSON.
func NewEvent(t EventType, orgID string, now time.Time, data any) (Event, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Event{}, fmt.Errorf("reading random bytes: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("encoding %s data: %w", t, err)
	}
	return Event{ID: "evt_" + eventIDEncoding.EncodeToString(b[:]), Type: t, OrgID: orgID, Time: now.UTC(), Data: raw}, nil
}

// RouteEventData is the data of route.created, route.updated and route.deleted.
type RouteEventData struct {
	Host    string `json:"host"`
	Target  string `json:"target,omitempty"`
	Status  int    `json:"status,omitempty"`
	Enabled bool   `json:"enabled"`
	Rules   int    `json:"rules"`
}

// RouteEvent is the event of type t about r.
func RouteEvent(t EventType, r Route, now time.Time) (Event, error) {
	return NewEvent(t, r.OrgID, now, RouteEventData{
		Host: r.Host, Target: r.Target, Status: r.Status, Enabled: r.Enabled, Rules: max(len(r.PathRules), r.RuleCount),
	})
}

// Payload is the JSON body every delivery of e carries: the Standard Webhooks
// shape (type, timestamp, data), with the event's id and org beside.
func (e Event) Payload() ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return json.Marshal(struct {
		ID        string          `json:"id"`
		Type      EventType       `json:"type"`
		Timestamp string          `json:"timestamp"`
		OrgID     string          `json:"orgId"`
		Data      json.RawMessage `json:"data"`
	}{e.ID, e.Type, e.Time.UTC().Format(time.RFC3339Nano), e.OrgID, data})
}

// DomainEventData is the data of the domain.* events. Reason says what the
// customer can do about a failure (for example, the DNS record to fix).
type DomainEventData struct {
	Host      string    `json:"host"`
	State     string    `json:"state,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	ReleaseAt time.Time `json:"releaseAt,omitzero"`
}

// TestEventData is the data of webhook.test: the one endpoint it is sent to.
type TestEventData struct {
	EndpointID string `json:"endpointId"`
}

// EventRecorder records an event that is not itself part of a table write.
type EventRecorder interface {
	RecordEvent(ctx context.Context, e Event) error
}

// BillingEventData is the data of billing.plan_changed, billing.payment_failed,
// routes.paused and routes.resumed: the plans before and after, the
// subscription's status, and how many routes paused or resumed under the limit.
type BillingEventData struct {
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Status string `json:"status,omitempty"`
	Count  int    `json:"count,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// ImportEventData is the data of import.completed: how many routes the import
// created, updated, left as they were, and how many lines it refused.
type ImportEventData struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}
