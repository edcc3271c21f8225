// Package delivery runs the jobs package notify queues: a signed webhook
// delivery to one endpoint, recorded, retried with backoff and the endpoint
// disabled after a day of failures; or one email, written for people.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

// Deliverer runs jobs.
type Deliverer struct {
	Webhooks reroute.WebhookStore
	Members  notify.Members
	Prefs    reroute.NotifyPrefStore
	Client   *http.Client // through safehttp.Guard: no private addresses, no redirects
	Mail     *Mailer      // nil: email is not configured, and email jobs are dropped
	Queue    notify.Queue // for the email that says an endpoint was disabled
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
func (d *Deliverer) Run(ctx context.Context, job notify.Job, attempt int) (Outcome, error) {
	switch job.Kind {
	case notify.KindWebhook:
		return d.deliver(ctx, job, attempt)
	case notify.KindEmail:
		if err := d.email(ctx, job); err != nil {
			if d.Now().Sub(job.Event.Time) > notify.GiveUpAfter {
				d.Log.Error("email given up", "event", job.Event.ID, "error", err)
				return Outcome{Done: true}, nil
			}
			d.Log.Warn("email failed: will retry", "event", job.Event.ID, "attempt", attempt, "error", err)
			return Outcome{RetryIn: d.backoff(attempt)}, nil
		}
		return Outcome{Done: true}, nil
	}
	return Outcome{}, fmt.Errorf("delivery: a job of kind %q", job.Kind)
}

func (d *Deliverer) backoff(n int) time.Duration {
	if d.Backoff != nil {
		return d.Backoff(n)
	}
	return notify.Backoff(n)
}

func (d *Deliverer) deliver(ctx context.Context, job notify.Job, attempt int) (Outcome, error) {
	ep, err := d.Webhooks.GetWebhook(ctx, job.Event.OrgID, job.EndpointID)
	if reroute.IsNotFound(err) {
		return Outcome{Done: true}, nil // deleted since: nothing to send to
	}
	if err != nil {
		return Outcome{}, err
	}
	e := job.Event.Event()
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
	retry := !rec.OK && res.Retry() && now.Add(delay).Sub(e.Time) < notify.GiveUpAfter
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
	var jobs []notify.Job
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := d.Members.ListMembers(ctx, ep.OrgID, page)
		if err != nil {
			return err
		}
		for _, m := range p.Items {
			if m.Role.ManagesMembers() {
				jobs = append(jobs, notify.Job{Kind: notify.KindEmail, Event: notify.NewEventJSON(e), Email: m.Email,
					Notice: &notify.EndpointNote{EndpointID: ep.ID, URL: ep.URL, Reason: ep.DisabledReason}})
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
func (d *Deliverer) email(ctx context.Context, job notify.Job) error {
	if job.Notice == nil {
		prefs, err := d.Prefs.GetEmailPrefs(ctx, job.Event.OrgID, job.Email)
		if err != nil {
			return err
		}
		if !notify.Wants(prefs.Events, job.Event.Type) {
			return nil
		}
	}
	if d.Mail == nil {
		d.Log.Warn("email is not configured: not sent", "event", job.Event.ID, "kind", job.Event.Type)
		return nil
	}
	return d.Mail.Send(ctx, job)
}
