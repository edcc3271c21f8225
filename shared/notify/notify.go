// Package notify tells orgs what happened: it fans each recorded event out into
// jobs (one per webhook endpoint that wants it, one per member to email), which
// package delivery runs: a signed delivery, or an email. Jobs travel through a Queue
// that redelivers a failed job after the delay the job asks for (SQS, with the
// message's visibility), so a customer's server that is down costs no caller
// any time and is retried with backoff for about a day.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Job kinds.
const (
	KindWebhook = "webhook"
	KindEmail   = "email"
)

// Job is one message of the queue: deliver Event to one endpoint, or email it
// to one member.
type Job struct {
	Kind       string        `json:"kind"`
	Event      EventJSON     `json:"event"`
	EndpointID string        `json:"endpointId,omitempty"`
	Email      string        `json:"email,omitempty"`
	Notice     *EndpointNote `json:"notice,omitempty"` // an email about an endpoint, not an event
}

// EndpointNote is the subject of an email about an endpoint the service
// disabled.
type EndpointNote struct {
	EndpointID string `json:"endpointId"`
	URL        string `json:"url"`
	Reason     string `json:"reason"`
}

// EventJSON is an event as a job carries it.
type EventJSON struct {
	ID    string            `json:"id"`
	Type  reroute.EventType `json:"type"`
	OrgID string            `json:"orgId"`
	Time  time.Time         `json:"time"`
	Data  json.RawMessage   `json:"data"`
}

// NewEventJSON is e as a job carries it.
func NewEventJSON(e reroute.Event) EventJSON {
	return EventJSON{ID: e.ID, Type: e.Type, OrgID: e.OrgID, Time: e.Time, Data: e.Data}
}

// Event is the event a job carries.
func (e EventJSON) Event() reroute.Event {
	return reroute.Event{ID: e.ID, Type: e.Type, OrgID: e.OrgID, Time: e.Time, Data: e.Data}
}

// Queue sends jobs. SendJobs sends them all or returns an error (a retry may
// send some twice: every job is idempotent for its receiver, who has the
// event's id).
type Queue interface {
	SendJobs(ctx context.Context, jobs []Job) error
}

// Members lists an org's members.
type Members interface {
	ListMembers(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Member], error)
}

// Dispatcher turns events into jobs.
type Dispatcher struct {
	Webhooks reroute.WebhookStore
	Members  Members
	Prefs    reroute.NotifyPrefStore
	Queue    Queue
	Log      *slog.Logger
}

// Dispatch queues the jobs of one event: a delivery to every enabled endpoint
// of its org that wants its type (webhook.test: the one endpoint it names), an
// email to every member whose preferences name it. An error leaves the event to
// be dispatched again (the stream retries the batch): jobs may then repeat,
// never go missing.
func (d *Dispatcher) Dispatch(ctx context.Context, e reroute.Event) error {
	var jobs []Job
	eps, err := d.Webhooks.ListWebhooks(ctx, e.OrgID)
	if err != nil {
		return err
	}
	var testOf string
	if e.Type == reroute.EventWebhookTest {
		var data reroute.TestEventData
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return fmt.Errorf("decoding a test event: %w", err)
		}
		testOf = data.EndpointID
	}
	for _, ep := range eps {
		if testOf != "" && ep.ID != testOf || testOf == "" && !ep.Wants(e.Type) {
			continue
		}
		jobs = append(jobs, Job{Kind: KindWebhook, Event: NewEventJSON(e), EndpointID: ep.ID})
	}
	if testOf == "" {
		mails, err := d.emailJobs(ctx, e)
		if err != nil {
			return err
		}
		jobs = append(jobs, mails...)
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := d.Queue.SendJobs(ctx, jobs); err != nil {
		return err
	}
	d.Log.Info("event dispatched", "event", e.ID, "type", e.Type, "org", e.OrgID, "jobs", len(jobs))
	return nil
}

// emailJobs are the emails of e: one per member who wants its type.
func (d *Dispatcher) emailJobs(ctx context.Context, e reroute.Event) ([]Job, error) {
	var jobs []Job
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := d.Members.ListMembers(ctx, e.OrgID, page)
		if reroute.IsNotFound(err) {
			return nil, nil // the org is gone
		}
		if err != nil {
			return nil, err
		}
		for _, m := range p.Items {
			prefs, err := d.Prefs.GetEmailPrefs(ctx, e.OrgID, m.Email)
			if err != nil {
				return nil, err
			}
			if Wants(prefs.Events, e.Type) {
				jobs = append(jobs, Job{Kind: KindEmail, Event: NewEventJSON(e), Email: m.Email})
			}
		}
		if page.Cursor = p.NextCursor; page.Cursor == "" {
			return jobs, nil
		}
	}
}

// Wants reports whether ts names t.
func Wants(ts []reroute.EventType, t reroute.EventType) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// Backoff: the delay before attempt n+1 after attempt n failed. It doubles from
// 30 s and is capped at 12 h (the most an SQS message can stay invisible); a
// quarter of jitter spreads a burst of retries. Attempts stop once the event is
// older than GiveUpAfter: about a dozen attempts.
const (
	firstDelay  = 30 * time.Second
	maxDelay    = 12 * time.Hour
	GiveUpAfter = 24 * time.Hour
)

// Backoff is the delay after failed attempt n (1 for the first).
func Backoff(n int) time.Duration {
	d := firstDelay
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return d - time.Duration(rand.Int64N(int64(d/4)+1)) //nolint:gosec // G404: jitter, not a secret
}
