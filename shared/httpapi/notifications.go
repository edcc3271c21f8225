package httpapi

import (
	"context"
	"html/template"
	"net/http"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Notifications are what the email preference endpoints use; nil answers
// notifications_not_configured.
type Notifications struct {
	Prefs reroute.NotifyPrefStore
	// UnsubscribeKey returns the key that signs the one-click unsubscribe
	// links of emails (the delivery function signs with the same key); it is
	// read when a link is first followed, not at cold start.
	UnsubscribeKey func(context.Context) ([]byte, error)
}

type prefsJSON struct {
	Events []reroute.EventType `json:"events"`
	// Default is true while the member has not chosen: events are the defaults.
	Default bool `json:"default"`
}

type prefsInput struct {
	Events []reroute.EventType `json:"events"`
}

func (s *server) notifications() (*Notifications, error) {
	if s.Notifications == nil {
		return nil, errorf(reroute.CodeUnavailable, "notifications_not_configured", "email notifications are not configured on this deployment")
	}
	return s.Notifications, nil
}

// getMyNotifications answers the caller's own email preferences in the org.
func (s *server) getMyNotifications(w http.ResponseWriter, r *http.Request) error {
	if err := userOnly(callerOf(r.Context())); err != nil {
		return err
	}
	a, err := s.orgAccess(r, readOrg)
	if err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	p, err := n.Prefs.GetEmailPrefs(r.Context(), a.org.ID, a.caller.Email)
	if err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, prefsJSON{Events: nonNil(p.Events), Default: !p.Set})
	return nil
}

// putMyNotifications sets them: the events to be emailed about, none for [].
func (s *server) putMyNotifications(w http.ResponseWriter, r *http.Request) error {
	if err := userOnly(callerOf(r.Context())); err != nil {
		return err
	}
	a, err := s.orgAccess(r, readOrg)
	if err != nil {
		return err
	}
	n, err := s.notifications()
	if err != nil {
		return err
	}
	in, err := decode[prefsInput](r)
	if err != nil {
		return err
	}
	if in.Events == nil {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "events", Message: "events is required: [] for no email"}}}
	}
	if err := reroute.CheckEvents("events", in.Events, true); err != nil {
		return err
	}
	p := reroute.EmailPrefs{OrgID: a.org.ID, Email: a.caller.Email, Events: in.Events, Set: true}
	if err := n.Prefs.SetEmailPrefs(r.Context(), p); err != nil {
		return err
	}
	encodeJSON(w, http.StatusOK, prefsJSON{Events: nonNil(p.Events)})
	return nil
}

func nonNil(ts []reroute.EventType) []reroute.EventType {
	if ts == nil {
		return []reroute.EventType{}
	}
	return ts
}

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · DNSReRoute</title></head>
<body style="font-family:system-ui,sans-serif;max-width:480px;margin:48px auto;padding:0 16px;color:#1a1a1a">
<main><h1 style="font-size:22px">{{.Title}}</h1><p>{{.Text}}</p>
{{if .Form}}<form method="post"><button type="submit" style="font-size:16px;padding:8px 16px">Unsubscribe {{.Email}}</button></form>{{end}}
</main></body></html>
`))

// unsubscribe is the link in every email: GET shows a button (a link scanner
// following it changes nothing), POST unsubscribes the member from all email
// of the org; mail clients POST it themselves for one-click unsubscribe (RFC
// 8058). Signed links need no sign-in.
func (s *server) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	org, email, sig := q.Get("org"), q.Get("email"), q.Get("sig")
	page := map[string]any{"Email": email}
	status := http.StatusOK
	n := s.Notifications
	var key []byte
	if n != nil {
		var err error
		if key, err = n.UnsubscribeKey(r.Context()); err != nil {
			return err
		}
	}
	switch {
	case n == nil || !reroute.ValidUnsubscribeSig(key, org, email, sig):
		status = http.StatusBadRequest
		page["Title"], page["Text"] = "This link is not valid", "Choose which emails you get in the dashboard instead."
	case r.Method == http.MethodGet:
		page["Title"], page["Text"], page["Form"] = "Unsubscribe", "Stop all email about this org to "+email+"?", true
	default:
		err := n.Prefs.SetEmailPrefs(r.Context(), reroute.EmailPrefs{OrgID: org, Email: email, Events: []reroute.EventType{}, Set: true})
		switch {
		case reroute.IsNotFound(err):
			page["Title"], page["Text"] = "You are unsubscribed", "You are no longer a member of this org: you get no email about it."
		case err != nil:
			return err
		default:
			page["Title"], page["Text"] = "You are unsubscribed", "You get no more email about this org. You can choose some again in the dashboard."
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return unsubscribePage.Execute(w, page)
}
