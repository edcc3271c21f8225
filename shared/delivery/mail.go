package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"mime/quotedprintable"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Sender sends one raw MIME message (SES v2 SendEmail with Raw content; a
// folder of .eml files in development).
type Sender interface {
	SendRaw(ctx context.Context, from, to string, raw []byte) error
}

// Mailer writes emails for people and sends them.
type Mailer struct {
	Sender Sender
	From   string // the verified SES identity, e.g. "DNSReRoute <notify@example.com>"
	// APIBase is the public URL of the API (its unsubscribe endpoint);
	// Dashboard is the dashboard's, linked from every email.
	APIBase, Dashboard string
	UnsubscribeKey     []byte
	Now                func() time.Time
}

// Mail is a rendered email.
type Mail struct {
	To, Subject, Text, HTML string
	Unsubscribe             string // the one-click link
}

// Send renders job's email and sends it.
func (m *Mailer) Send(ctx context.Context, job notify.Job) error {
	mail, err := m.Render(job)
	if err != nil {
		return err
	}
	raw, err := m.raw(mail)
	if err != nil {
		return err
	}
	return m.Sender.SendRaw(ctx, m.From, mail.To, raw)
}

// content is what a template says about one event.
type content struct {
	Subject, Headline, Body, Action string
}

// describe says, for people, what e is about and what to do.
func describeEvent(e reroute.Event) content {
	var d struct {
		Host, Target, Reason, State, From, To, URL, LastError string
		Rules, Created, Updated, Failed, Count                int
	}
	_ = json.Unmarshal(e.Data, &d)
	switch e.Type {
	case reroute.EventRouteCreated:
		return content{"Route added: " + d.Host, "A route was added", d.Host + " now redirects to " + d.Target + ".", ""}
	case reroute.EventRouteUpdated:
		return content{"Route changed: " + d.Host, "A route was changed", d.Host + " was changed; it redirects to " + orNone(d.Target) + ".", ""}
	case reroute.EventRouteDeleted:
		return content{"Route removed: " + d.Host, "A route was removed", d.Host + " no longer redirects.", ""}
	case reroute.EventDomainActive:
		return content{d.Host + " is live", "Your hostname is live", d.Host + " points at us and its certificate is issued: its redirects are served over HTTPS.", ""}
	case reroute.EventDomainFailed:
		return content{"Action needed: " + d.Host, "Your hostname could not be set up", d.Host + ": " + orNone(d.Reason) + ".",
			"Check the DNS records shown on the route in the dashboard, then check it again from there."}
	case reroute.EventDomainReleaseScheduled:
		return content{"Action needed: " + d.Host + " will be released", "Your hostname will be released",
			d.Host + " still does not point at us and will be released if it does not soon.", "Add the CNAME record shown on the route."}
	case reroute.EventDomainReleased:
		return content{d.Host + " was released", "A hostname was released", d.Host + " never pointed at us, so its route was removed.", ""}
	case reroute.EventBillingPlanChanged:
		return content{"Your plan changed", "Your plan changed", "Your org is now on the " + orNone(d.To) + " plan.", ""}
	case reroute.EventBillingPaymentFailed:
		return content{"Action needed: a payment failed", "A payment failed",
			"We could not take your last payment. If it keeps failing, routes beyond the free plan's limit will be paused.",
			"Update your payment method from the billing page of the dashboard."}
	case reroute.EventRoutesPaused:
		return content{"Routes paused", "Some routes were paused", fmt.Sprintf("%d routes beyond your plan's limit were paused: they answer \"not configured\" until you upgrade or remove others.", d.Count), ""}
	case reroute.EventRoutesResumed:
		return content{"Routes resumed", "Your routes are back", fmt.Sprintf("%d paused routes answer their redirects again.", d.Count), ""}
	case reroute.EventDestinationBroken:
		return content{"Destination down: " + d.Host, "A destination looks broken",
			d.Host + " redirects to " + d.Target + ", which failed our last checks: " + orNone(d.LastError) + ".",
			"Visitors following the redirect may land on an error. Check the target site, or point the route elsewhere."}
	case reroute.EventDestinationRecovered:
		return content{"Destination back: " + d.Host, "A destination recovered", d.Target + " answers again.", ""}
	case reroute.EventImportCompleted:
		return content{"Import finished", "Your import finished",
			fmt.Sprintf("%d routes created, %d updated, %d failed.", d.Created, d.Updated, d.Failed), ""}
	}
	return content{string(e.Type), string(e.Type), string(e.Data), ""}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

var textMail = texttemplate.Must(texttemplate.New("text").Parse(`{{.Headline}}

{{.Body}}
{{if .Action}}
{{.Action}}
{{end}}
Open the dashboard: {{.Dashboard}}

--
You get this email as a member of an org on DNSReRoute.
Choose which emails you get in the dashboard, or unsubscribe from all of them:
{{.Unsubscribe}}
`))

var htmlMail = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,sans-serif;color:#1a1a1a;max-width:560px;margin:0 auto;padding:24px">
<h1 style="font-size:20px">{{.Headline}}</h1>
<p>{{.Body}}</p>
{{if .Action}}<p><strong>{{.Action}}</strong></p>{{end}}
<p><a href="{{.Dashboard}}" style="color:#0b5cad">Open the dashboard</a></p>
<hr style="border:none;border-top:1px solid #ddd">
<p style="font-size:12px;color:#555">You get this email as a member of an org on DNSReRoute.
Choose which emails you get in the dashboard, or <a href="{{.Unsubscribe}}" style="color:#555">unsubscribe from all of them</a>.</p>
</body></html>
`))

// Render writes job's email.
func (m *Mailer) Render(job notify.Job) (Mail, error) {
	e := job.Event.Event()
	c := describeEvent(e)
	if n := job.Notice; n != nil {
		c = content{"Webhook endpoint disabled", "A webhook endpoint was disabled",
			"We stopped sending events to " + n.URL + ": " + n.Reason + ".",
			"Fix the receiver, then enable the endpoint again in the dashboard; its recent deliveries show what it answered."}
	}
	q := url.Values{"org": {e.OrgID}, "email": {job.Email}, "sig": {reroute.UnsubscribeSig(m.UnsubscribeKey, e.OrgID, job.Email)}}
	unsub := strings.TrimRight(m.APIBase, "/") + "/v1/unsubscribe?" + q.Encode()
	data := map[string]string{"Subject": c.Subject, "Headline": c.Headline, "Body": c.Body, "Action": c.Action,
		"Dashboard": m.Dashboard, "Unsubscribe": unsub}
	var text, html bytes.Buffer
	if err := textMail.Execute(&text, data); err != nil {
		return Mail{}, err
	}
	if err := htmlMail.Execute(&html, data); err != nil {
		return Mail{}, err
	}
	return Mail{To: job.Email, Subject: c.Subject, Text: text.String(), HTML: html.String(), Unsubscribe: unsub}, nil
}

// raw is mail as a MIME message: multipart/alternative (plain, then HTML), with
// the one-click unsubscribe headers of RFC 8058 (List-Unsubscribe with an https
// URL, List-Unsubscribe-Post), which mailbox providers show as an
// "Unsubscribe" button and POST to.
func (m *Mailer) raw(mail Mail) ([]byte, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	boundary := "dnsreroute-" + hex.EncodeToString(b[:])
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	h("From", m.From)
	h("To", mail.To)
	h("Subject", mime.QEncoding.Encode("utf-8", mail.Subject))
	h("Date", m.Now().UTC().Format(time.RFC1123Z))
	h("MIME-Version", "1.0")
	h("List-Unsubscribe", "<"+mail.Unsubscribe+">")
	h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", mail.Text}, {"text/html", mail.HTML}} {
		fmt.Fprintf(&buf, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		w := quotedprintable.NewWriter(&buf)
		if _, err := w.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "--%s--\r\n", boundary)
	return buf.Bytes(), nil
}
