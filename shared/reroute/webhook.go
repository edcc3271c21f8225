package reroute

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// MaxWebhooks is how many endpoints an org may have; the store enforces it.
const MaxWebhooks = 10

// Webhook endpoints are disabled after failing this long, or this many times in
// a row, whichever comes first; the org is told by email.
const (
	WebhookFailingFor      = 24 * time.Hour
	WebhookMaxConsecutive  = 50
	WebhookDeliveryHistory = 30 * 24 * time.Hour // how long deliveries are listed
	// WebhookOldSecretFor is how long a rotated secret still signs beside the new
	// one, so that receivers can switch without losing a delivery.
	WebhookOldSecretFor = 24 * time.Hour
)

// WebhookEndpoint is where an org wants its events sent.
type WebhookEndpoint struct {
	ID          string
	OrgID       string
	URL         string
	Description string
	Events      []EventType // those it receives; never empty
	Enabled     bool
	// DisabledReason says why the service disabled it ("" when a member did, or
	// when it is enabled).
	DisabledReason string
	// Secret signs every delivery; PreviousSecret too, until PreviousUntil.
	Secret         string
	PreviousSecret string
	PreviousUntil  time.Time
	// Failures counts the failed deliveries in a row, since FailingSince.
	Failures     int
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Wants reports whether e receives events of type t.
func (e WebhookEndpoint) Wants(t EventType) bool {
	return e.Enabled && (slices.Contains(e.Events, t) || t == EventWebhookTest)
}

// Secrets are the secrets that sign a delivery at now.
func (e WebhookEndpoint) Secrets(now time.Time) []string {
	if e.PreviousSecret != "" && now.Before(e.PreviousUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// CheckEvents validates a list of event types an endpoint or member subscribes
// to: known types, no repeats. Empty is allowed only when allowEmpty.
func CheckEvents(field string, ts []EventType, allowEmpty bool) error {
	if len(ts) == 0 && !allowEmpty {
		return invalidField(field, "name at least one event type")
	}
	seen := map[EventType]bool{}
	for _, t := range ts {
		if !t.Valid() {
			return invalidField(field, fmt.Sprintf("%q is not an event type (see GET /v1/events)", t))
		}
		if seen[t] {
			return invalidField(field, fmt.Sprintf("%q is listed twice", t))
		}
		seen[t] = true
	}
	return nil
}

func invalidField(field, msg string) error {
	return &Error{Code: CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
		Fields: []FieldError{{Field: field, Message: msg}}}
}

// WebhookDelivery is one attempt to deliver an event to an endpoint.
type WebhookDelivery struct {
	OrgID      string
	EndpointID string
	EventID    string
	Type       EventType
	Attempt    int // 1 for the first
	At         time.Time
	Status     int    // the response's status code; 0 when there was none
	Error      string // why it failed, for the customer
	OK         bool
	// Final is set on the last attempt of a delivery that failed: no more follow.
	Final bool
}

// WebhookOutcome is what recording a delivery did to its endpoint.
type WebhookOutcome struct {
	// Disabled is set by the one recording that disabled the endpoint.
	Disabled bool
	Endpoint WebhookEndpoint
}

// WebhookStore keeps an org's endpoints and their deliveries.
type WebhookStore interface {
	// CreateWebhook stores a new endpoint; an org has at most MaxWebhooks.
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	GetWebhook(ctx context.Context, orgID, id string) (WebhookEndpoint, error)
	// ListWebhooks returns all of an org's endpoints (at most MaxWebhooks).
	ListWebhooks(ctx context.Context, orgID string) ([]WebhookEndpoint, error)
	// UpdateWebhook replaces its URL, description, events and enabled; enabling
	// clears the failures.
	UpdateWebhook(ctx context.Context, e WebhookEndpoint) error
	DeleteWebhook(ctx context.Context, orgID, id string) error
	// RotateWebhookSecret makes secret the one that signs, keeping the old one
	// signing beside it until keepOldUntil.
	RotateWebhookSecret(ctx context.Context, orgID, id, secret string, keepOldUntil time.Time) error
	// RecordDelivery stores an attempt and counts it on its endpoint, disabling
	// the endpoint once it has failed for WebhookFailingFor or
	// WebhookMaxConsecutive times in a row.
	RecordDelivery(ctx context.Context, d WebhookDelivery) (WebhookOutcome, error)
	// ListDeliveries returns an endpoint's recent attempts, newest first.
	ListDeliveries(ctx context.Context, orgID, id string, p PageRequest) (Page[WebhookDelivery], error)
}
