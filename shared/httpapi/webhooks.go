package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// URLChecker refuses a URL the service may not send requests to (not https, or
// resolving to a private address); the same check is made again at delivery
// time, on every connection.
type URLChecker interface {
	CheckURL(ctx context.Context, raw string) error
}

// SecretMaker makes a new webhook signing secret ("whsec_" and base64).
type SecretMaker func() (string, error)

// Webhooks are what the webhook endpoints use; nil answers webhooks_not_configured.
type Webhooks struct {
	Store     reroute.WebhookStore
	URLs      URLChecker
	NewSecret SecretMaker
}

type webhookJSON struct {
	ID             string              `json:"id"`
	URL            string              `json:"url"`
	Description    string              `json:"description"`
	Events         []reroute.EventType `json:"events"`
	Enabled        bool                `json:"enabled"`
	DisabledReason string              `json:"disabledReason,omitempty"`
	Failures       int                 `json:"failures"`
	FailingSince   *time.Time          `json:"failingSince,omitempty"`
	CreatedAt      time.Time           `json:"createdAt"`
	UpdatedAt      time.Time           `json:"updatedAt"`
	// Secret is only in the answers that create it or rotate it.
	Secret string `json:"secret,omitempty"`
}

func toWebhookJSON(e reroute.WebhookEndpoint) webhookJSON {
	out := webhookJSON{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, Failures: e.Failures, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if out.Events == nil {
		out.Events = []reroute.EventType{}
	}
	if !e.FailingSince.IsZero() {
		out.FailingSince = &e.FailingSince
	}
	return out
}

type webhookInput struct {
	URL         *string              `json:"url"`
	Description *string              `json:"description"`
	Events      *[]reroute.EventType `json:"events"`
	Enabled     *bool                `json:"enabled"`
}

type deliveryJSON struct {
	EventID string            `json:"eventId"`
	Type    reroute.EventType `json:"type"`
	Attempt int               `json:"attempt"`
	At      time.Time         `json:"at"`
	Status  int               `json:"status,omitempty"`
	Error   string            `json:"error,omitempty"`
	OK      bool              `json:"ok"`
	Final   bool              `json:"final"`
}

const maxWebhookURL = 2048

func (s *server) webhooks(r *http.Request) (*Webhooks, access, error) {
	a, err := s.orgAccess(r, manageWebhooks)
	if err != nil {
		return nil, a, err
	}
	if s.Webhooks == nil {
		return nil, a, errorf(reroute.CodeUnavailable, "webhooks_not_configured", "webhooks are not configured on this deployment")
	}
	return s.Webhooks, a, nil
}

// checkWebhookInput validates the fields given; create says url and events are
// required.
func (s *server) checkWebhookInput(ctx context.Context, wh *Webhooks, in *webhookInput, create bool) error {
	var fields []reroute.FieldError
	if in.URL == nil && create {
		fields = append(fields, reroute.FieldError{Field: "url", Message: "url is required"})
	}
	if in.URL != nil {
		*in.URL = strings.TrimSpace(*in.URL)
		if len(*in.URL) > maxWebhookURL {
			fields = append(fields, reroute.FieldError{Field: "url", Message: "url is longer than 2048 characters"})
		} else if err := wh.URLs.CheckURL(ctx, *in.URL); err != nil {
			fields = append(fields, reroute.FieldError{Field: "url", Message: strings.TrimPrefix(err.Error(), "destination refused: ")})
		}
	}
	if in.Description != nil && len(*in.Description) > 200 {
		fields = append(fields, reroute.FieldError{Field: "description", Message: "description is longer than 200 characters"})
	}
	if in.Events == nil && create {
		fields = append(fields, reroute.FieldError{Field: "events", Message: "events is required: name at least one event type"})
	}
	if in.Events != nil {
		var e *reroute.Error
		if err := reroute.CheckEvents("events", *in.Events, false); err != nil && errors.As(err, &e) {
			fields = append(fields, e.Fields...)
		}
	}
	if len(fields) > 0 {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: fields}
	}
	return nil
}

func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	size, _ := page.Size()
	after := ""
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || !strings.HasPrefix(string(b), "wh_") {
			return errorf(reroute.CodeInvalid, "invalid_cursor", "the cursor is not valid: start again from the first page")
		}
		after = string(b)
	}
	// An org has at most reroute.MaxWebhooks: one read, paged here.
	eps, err := wh.Store.ListWebhooks(r.Context(), a.org.ID)
	if err != nil {
		return err
	}
	out := list[webhookJSON]{Items: []webhookJSON{}}
	for _, e := range eps {
		if e.ID <= after {
			continue
		}
		if len(out.Items) == size {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(out.Items[size-1].ID))
			break
		}
		out.Items = append(out.Items, toWebhookJSON(e))
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	in, err := decode[webhookInput](r)
	if err != nil {
		return err
	}
	if err := s.checkWebhookInput(r.Context(), wh, &in, true); err != nil {
		return err
	}
	secret, err := wh.NewSecret()
	if err != nil {
		return err
	}
	id, err := s.newID("wh_")
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	e := reroute.WebhookEndpoint{ID: id, OrgID: a.org.ID, URL: *in.URL, Events: *in.Events, Enabled: true,
		Secret: secret, CreatedAt: now, UpdatedAt: now}
	if in.Description != nil {
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
	}
	if err := wh.Store.CreateWebhook(r.Context(), e); err != nil {
		return err
	}
	out := toWebhookJSON(e)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/orgs/"+a.org.ID+"/webhooks/"+id)
	encodeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	e, err := wh.Store.GetWebhook(r.Context(), a.org.ID, r.PathValue("webhookId"))
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, toWebhookJSON(e))
	return nil
}

func (s *server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	in, err := decode[webhookInput](r)
	if err != nil {
		return err
	}
	if err := s.checkWebhookInput(r.Context(), wh, &in, false); err != nil {
		return err
	}
	e, err := wh.Store.GetWebhook(r.Context(), a.org.ID, r.PathValue("webhookId"))
	if err != nil {
		return err
	}
	if in.URL != nil {
		e.URL = *in.URL
	}
	if in.Description != nil {
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Events != nil {
		e.Events = *in.Events
	}
	if in.Enabled != nil {
		if *in.Enabled && !e.Enabled {
			e.Failures, e.FailingSince, e.DisabledReason = 0, time.Time{}, ""
		}
		e.Enabled = *in.Enabled
	}
	e.UpdatedAt = s.Now().UTC()
	if err := wh.Store.UpdateWebhook(r.Context(), e); err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, toWebhookJSON(e))
	return nil
}

func (s *server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	if err := wh.Store.DeleteWebhook(r.Context(), a.org.ID, r.PathValue("webhookId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateWebhookSecret makes a new secret, answered once; the old one keeps
// signing beside it for reroute.WebhookOldSecretFor.
func (s *server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	id := r.PathValue("webhookId")
	secret, err := wh.NewSecret()
	if err != nil {
		return err
	}
	if err := wh.Store.RotateWebhookSecret(r.Context(), a.org.ID, id, secret, s.Now().UTC().Add(reroute.WebhookOldSecretFor)); err != nil {
		return err
	}
	e, err := wh.Store.GetWebhook(r.Context(), a.org.ID, id)
	if err != nil {
		return err
	}
	out := toWebhookJSON(e)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, http.StatusOK, out)
	return nil
}

// testWebhook records a webhook.test event for this endpoint only; it is
// delivered like any other, so its delivery shows in the list.
func (s *server) testWebhook(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	e, err := wh.Store.GetWebhook(r.Context(), a.org.ID, r.PathValue("webhookId"))
	if err != nil {
		return err
	}
	ev, err := reroute.NewEvent(reroute.EventWebhookTest, a.org.ID, s.Now(), reroute.TestEventData{EndpointID: e.ID})
	if err != nil {
		return err
	}
	if s.Events == nil {
		return errorf(reroute.CodeUnavailable, "webhooks_not_configured", "events are not recorded on this deployment")
	}
	if err := s.Events.RecordEvent(r.Context(), ev); err != nil {
		return err
	}
	encodeJSON(w, http.StatusAccepted, map[string]string{"eventId": ev.ID})
	return nil
}

func (s *server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	wh, a, err := s.webhooks(r)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	id := r.PathValue("webhookId")
	if _, err := wh.Store.GetWebhook(r.Context(), a.org.ID, id); err != nil {
		return err
	}
	p, err := wh.Store.ListDeliveries(r.Context(), a.org.ID, id, page)
	if err != nil {
		return err
	}
	out := list[deliveryJSON]{Items: make([]deliveryJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, d := range p.Items {
		out.Items[i] = deliveryJSON{EventID: d.EventID, Type: d.Type, Attempt: d.Attempt, At: d.At, Status: d.Status,
			Error: d.Error, OK: d.OK, Final: d.Final}
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

// listEventTypes names the events one may subscribe to.
func (s *server) listEventTypes(w http.ResponseWriter, _ *http.Request) error {
	encodeJSON(w, http.StatusOK, map[string]any{"items": reroute.EventTypes})
	return nil
}
