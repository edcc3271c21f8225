// Package notify tells orgs what happened: it fans each recorded event out into
// jobs (one per webhook endpoint that wants it, one per member to email), and
// runs each job: a signed delivery, or an email. Jobs travel through a Queue
// that redelivers a failed job after the delay the job asks for (SQS, with the
// message's visibility), so a customer's server that is down costs no caller
// any time and is retried with backoff for about a day.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
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

func toJSON(e reroute.Event) EventJSON {
	return EventJSON{ID: e.ID, Type: e.Type, OrgID: e.OrgID, Time: e.Time, Data: e.Data}
}

func (e EventJSON) event() reroute.Event {
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
		jobs = append(jobs, Job{Kind: KindWebhook, Event: toJSON(e), EndpointID: ep.ID})
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
			if wants(prefs.Events, e.Type) {
				jobs = append(jobs, Job{Kind: KindEmail, Event: toJSON(e), Email: m.Email})
			}
		}
		if page.Cursor = p.NextCursor; page.Cursor == "" {
			return jobs, nil
		}
	}
}

func wants(ts []reroute.EventType, t reroute.EventType) bool {
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
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// Deliverer runs jobs.
type Deliverer struct {
	Webhooks reroute.WebhookStore
	Members  Members
	Prefs    reroute.NotifyPrefStore
	Client   *http.Client // through safehttp.Guard: no private addresses, no redirects
	Mail     *Mailer
	Queue    Queue // for the email that says an endpoint was disabled
	Now      func() time.Time
	// Backoff is the delay after failed attempt n; nil is the package's Backoff.
	Backoff func(n int) time.Duration
	Log     *slog.Logger
}

// Outcome is what became of a job's attempt: done (delivered, or given up on),
// or to be tried again after RetryIn.
type Outcome struct {
	Done    bool
	RetryIn time.Duration
}

// Run makes attempt number attempt (1 for the first) of job.
func (d *Deliverer) Run(ctx context.Context, job Job, attempt int) (Outcome, error) {
	switch job.Kind {
	case KindWebhook:
		return d.deliver(ctx, job, attempt)
	case KindEmail:
		if err := d.email(ctx, job); err != nil {
			if d.Now().Sub(job.Event.Time) > GiveUpAfter {
				d.Log.Error("email given up", "event", job.Event.ID, "error", err)
				return Outcome{Done: true}, nil
			}
			d.Log.Warn("email failed: will retry", "event", job.Event.ID, "attempt", attempt, "error", err)
			return Outcome{RetryIn: d.backoff(attempt)}, nil
		}
		return Outcome{Done: true}, nil
	}
	return Outcome{}, fmt.Errorf("notify: a job of kind %q", job.Kind)
}

func (d *Deliverer) backoff(n int) time.Duration {
	if d.Backoff != nil {
		return d.Backoff(n)
	}
	return Backoff(n)
}

func (d *Deliverer) deliver(ctx context.Context, job Job, attempt int) (Outcome, error) {
	ep, err := d.Webhooks.GetWebhook(ctx, job.Event.OrgID, job.EndpointID)
	if reroute.IsNotFound(err) {
		return Outcome{Done: true}, nil // deleted since: nothing to send to
	}
	if err != nil {
		return Outcome{}, err
	}
	e := job.Event.event()
	if !ep.Enabled && e.Type != reroute.EventWebhookTest {
		return Outcome{Done: true}, nil
	}
	body, err := e.Payload()
	if err != nil {
		return Outcome{}, err
	}
	now := d.Now()
	sendCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	res := webhook.Send(sendCtx, d.Client, webhook.Request{URL: ep.URL, MsgID: e.ID, Body: body, Secrets: ep.Secrets(now), Time: now})
	cancel()
	rec := reroute.WebhookDelivery{OrgID: ep.OrgID, EndpointID: ep.ID, EventID: e.ID, Type: e.Type, Attempt: attempt,
		At: now, Status: res.Status, OK: res.OK()}
	if res.Err != nil {
		rec.Error = describe(res.Err)
	}
	delay := d.backoff(attempt)
	retry := !rec.OK && res.Retry() && now.Add(delay).Sub(e.Time) < GiveUpAfter
	rec.Final = !rec.OK && !retry
	out, err := d.Webhooks.RecordDelivery(ctx, rec)
	if err != nil {
		return Outcome{}, err
	}
	d.Log.Info("webhook attempt", "event", e.ID, "endpoint", ep.ID, "attempt", attempt, "status", res.Status, "ok", rec.OK, "final", rec.Final)
	if out.Disabled {
		if err := d.tellDisabled(ctx, out.Endpoint, e); err != nil {
			return Outcome{}, err
		}
		return Outcome{Done: true}, nil
	}
	if retry {
		return Outcome{RetryIn: delay}, nil
	}
	return Outcome{Done: true}, nil
}

// describe is an attempt's failure in words for the customer: no internal
// detail beyond what their own server did.
func describe(err error) string {
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &timeout) && timeout.Timeout():
		return "no answer within 15 seconds"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within 15 seconds"
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// tellDisabled queues an email to the org's owners and admins that ep was
// disabled.
func (d *Deliverer) tellDisabled(ctx context.Context, ep reroute.WebhookEndpoint, e reroute.Event) error {
	var jobs []Job
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := d.Members.ListMembers(ctx, ep.OrgID, page)
		if err != nil {
			return err
		}
		for _, m := range p.Items {
			if m.Role.ManagesMembers() {
				jobs = append(jobs, Job{Kind: KindEmail, Event: toJSON(e), Email: m.Email,
					Notice: &EndpointNote{EndpointID: ep.ID, URL: ep.URL, Reason: ep.DisabledReason}})
			}
		}
		if page.Cursor = p.NextCursor; page.Cursor == "" {
			break
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	return d.Queue.SendJobs(ctx, jobs)
}

// email sends one member the email of an event (or a notice), unless they no
// longer want it: preferences are read again at sending time, so an
// unsubscribe takes effect at once.
func (d *Deliverer) email(ctx context.Context, job Job) error {
	if job.Notice == nil {
		prefs, err := d.Prefs.GetEmailPrefs(ctx, job.Event.OrgID, job.Email)
		if err != nil {
			return err
		}
		if !wants(prefs.Events, job.Event.Type) {
			return nil
		}
	}
	return d.Mail.Send(ctx, job)
}
