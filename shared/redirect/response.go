package redirect

import (
	"html"
	"io"
	"strconv"
	"strings"
)

// Response is a rendered answer, the same for every front. A redirect's page is
// kept as its link until a front asks for it: the HTTP front streams it into its
// buffer, the Lambda front needs it as one string.
type Response struct {
	Status       int
	Location     string
	CacheControl string
	ContentType  string
	RetryAfter   string
	// HSTS is the Strict-Transport-Security value, or "" for none.
	HSTS string
	body string // a fixed page, or the head of one that shows host; "" when link is set
	link string // the redirect page's link, HTML-escaped
	host string // the not-configured page's hostname, HTML-escaped: body, host, tail
	tail string
}

// Body returns the response body as one string.
func (r Response) Body() string {
	if r.host != "" {
		return r.body + r.host + r.tail
	}
	if r.link == "" {
		return r.body
	}
	var b strings.Builder
	b.Grow(len(redirectHead) + len(redirectMid) + len(redirectTail) + 2*len(r.link))
	b.WriteString(redirectHead)
	b.WriteString(r.link)
	b.WriteString(redirectMid)
	b.WriteString(r.link)
	b.WriteString(redirectTail)
	return b.String()
}

// WriteBody writes the body to w without building it first.
func (r Response) WriteBody(w io.StringWriter) {
	if r.link == "" {
		if r.body != "" {
			_, _ = w.WriteString(r.body)
		}
		if r.host != "" {
			_, _ = w.WriteString(r.host)
			_, _ = w.WriteString(r.tail)
		}
		return
	}
	_, _ = w.WriteString(redirectHead)
	_, _ = w.WriteString(r.link)
	_, _ = w.WriteString(redirectMid)
	_, _ = w.WriteString(r.link)
	_, _ = w.WriteString(redirectTail)
}

const (
	contentTypeHTML = "text/html; charset=utf-8"
	contentTypeJSON = "application/json"
	noStore         = "no-store"
	healthPath      = "/healthz"
	retryAfterSecs  = "5"

	unavailablePage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Temporarily unavailable</title>` +
		`<h1>Temporarily unavailable</h1><p>This redirect cannot be looked up right now. Please try again in a few seconds.</p></html>`
	gonePage = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Gone</title>` +
		`<h1>This page is gone</h1><p>The address you asked for has been removed on purpose, and nothing replaces it.</p></html>`
	tooLongPage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>URI too long</title>` +
		`<h1>URI too long</h1><p>This address is longer than 8,192 bytes, which no redirect serves.</p></html>`
	homePage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>DNSReRoute</title>` +
		`<h1>DNSReRoute</h1><p>This is a redirect service: point a CNAME for your hostname here and add a route in your dashboard, and every request for it is redirected.</p></html>`
	healthBody = `{"status":"ok"}`
)

// Renderer turns Results into Responses. Its header values are computed once.
type Renderer struct {
	permanent string // Cache-Control of 301 and 308
	negative  string // Cache-Control of "not configured"
}

// NewRenderer builds a Renderer for cfg (the Resolver's Config, defaults applied).
func NewRenderer(cfg Config) *Renderer {
	cfg = cfg.withDefaults()
	return &Renderer{
		permanent: "public, max-age=" + strconv.Itoa(int(cfg.PermanentMaxAge.Seconds())),
		negative:  "public, max-age=" + strconv.Itoa(int(cfg.NegativeTTL.Seconds())),
	}
}

// Render answers res for a request with method and path (the path matters only on
// the service's own hostname). HEAD answers get the headers and no body.
func (rd *Renderer) Render(res Result, method, path string) Response {
	var out Response
	switch res.Kind {
	case KindRedirect:
		out = Response{Status: res.Status, Location: res.Location, ContentType: contentTypeHTML, CacheControl: noStore, HSTS: res.HSTS}
		if res.Status == 301 || res.Status == 308 {
			out.CacheControl = rd.permanent
		}
		if res.body != "" {
			out.body = res.body
		} else {
			out.link = escapeLink(res.Location)
		}
	case KindUpgrade:
		out = Response{Status: res.Status, Location: res.Location, ContentType: contentTypeHTML, CacheControl: rd.permanent, link: escapeLink(res.Location)}
	case KindUnavailable:
		out = Response{Status: 503, ContentType: contentTypeHTML, CacheControl: noStore, RetryAfter: retryAfterSecs, body: unavailablePage}
	case KindGone:
		// Cached as briefly as "not configured": the owner may add a rule for it.
		out = Response{Status: 410, ContentType: contentTypeHTML, CacheControl: rd.negative, HSTS: res.HSTS, body: gonePage}
	case KindTargetTooLong:
		out = Response{Status: 414, ContentType: contentTypeHTML, CacheControl: noStore, body: tooLongPage}
	case KindService:
		out = rd.service(path)
	default:
		out = rd.notConfigured(res.Reason, res.host)
	}
	if method == "HEAD" {
		out.body, out.link, out.host, out.tail = "", "", "", ""
	}
	return out
}

// service answers the service's own hostname: a health check and a home page.
func (rd *Renderer) service(path string) Response {
	switch path {
	case healthPath:
		return Response{Status: 200, ContentType: contentTypeJSON, CacheControl: noStore, body: healthBody}
	case "", "/":
		return Response{Status: 200, ContentType: contentTypeHTML, CacheControl: "public, max-age=300", body: homePage}
	}
	return Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative, body: notFoundPage}
}

// notConfigured answers a request no redirect serves, with the page for reason
// showing host. Every reason is a 404 cached for the negative TTL, a paused route's
// too: its org may resume it at any moment, and a 503 would tell crawlers to keep
// retrying a pause that may last as long as the plan does. The page is streamed in
// three parts, so it costs no allocation on the HTTP front.
func (rd *Renderer) notConfigured(reason Reason, host string) Response {
	out := Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative}
	if int(reason) >= len(notConfiguredPages) || notConfiguredPages[reason].head == "" {
		reason = ReasonUnknownHost
	}
	p := &notConfiguredPages[reason]
	if host == "" {
		out.body = p.noHost
		return out
	}
	out.body, out.host, out.tail = p.head, escapeLink(host), p.tail
	return out
}

// A not-configured page: head, the hostname, tail. It names the hostname asked
// for and never the route's owner or org. Inline CSS only: no request leaves the
// page, and it must read at 375 px as well as on a desktop.
type notConfiguredPage struct{ head, tail, noHost string }

const (
	pageStyle = `<style>` +
		`body{margin:0;padding:12vh 1.25rem 2rem;font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f3f4f6}` +
		`main{max-width:34rem;margin:0 auto;padding:1.75rem 1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px #0002}` +
		`h1{margin:0 0 .75rem;font-size:1.45rem;line-height:1.25}p{margin:.75rem 0 0}` +
		`b{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600;overflow-wrap:anywhere}` +
		`footer{max-width:34rem;margin:1rem auto 0;text-align:center;font-size:.85rem;color:#6b7280}` +
		`@media(prefers-color-scheme:dark){body{color:#e5e7eb;background:#111827}main{background:#1f2937}footer{color:#9ca3af}}` +
		`</style>`
	pageStart = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>`
	pageBody = `</title>` + pageStyle + `</head><body><main><h1>`
	pageEnd  = `</main><footer>DNSReRoute</footer></body></html>`
	noHost   = `this hostname`

	unknownHead = pageStart + `Domain not configured` + pageBody + `This domain is not configured</h1><p>No redirect is set up for <b>`
	unknownTail = `</b>.</p><p>If you followed a link or typed this address, it may be mistyped, or the site may have moved to another address.</p>` +
		`<p>If this domain is yours, add a route for it in your dashboard.</p>` + pageEnd
	pausedHead = pageStart + `Redirect paused` + pageBody + `This redirect is paused</h1><p>The redirect for <b>`
	pausedTail = `</b> is paused by its owner.</p><p>It may come back at any time: please try again later.</p>` +
		`<p>If this domain is yours, your dashboard shows how to resume it.</p>` + pageEnd
	disabledHead = pageStart + `Redirect switched off` + pageBody + `This redirect is switched off</h1><p>The redirect for <b>`
	disabledTail = `</b> has been switched off by its owner.</p><p>The site may have moved: look for its new address.</p>` +
		`<p>If this domain is yours, switch its route back on in your dashboard.</p>` + pageEnd
	noRuleHead = pageStart + `Page not found` + pageBody + `No redirect for this page</h1><p>Nothing is set up for this path on <b>`
	noRuleTail = `</b>.</p><p>The link may be wrong, or the page may have moved.</p>` +
		`<p>If this domain is yours, add a path rule or a fallback for it in your dashboard.</p>` + pageEnd

	notFoundPage = pageStart + `Page not found` + pageBody + `Page not found</h1><p>There is nothing at this address.</p>` + pageEnd
)

var notConfiguredPages = [...]notConfiguredPage{
	ReasonUnknownHost: {unknownHead, unknownTail, unknownHead + noHost + unknownTail},
	ReasonPaused:      {pausedHead, pausedTail, pausedHead + noHost + pausedTail},
	ReasonDisabled:    {disabledHead, disabledTail, disabledHead + noHost + disabledTail},
	ReasonNoRule:      {noRuleHead, noRuleTail, noRuleHead + noHost + noRuleTail},
}

// The page a client that does not follow Location shows: head, link, mid, link, tail.
const (
	redirectHead = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Redirecting</title><p>Redirecting to <a href="`
	redirectMid  = `">`
	redirectTail = `</a></p></html>`
)

// redirectBody is the whole page for location.
func redirectBody(location string) string {
	return Response{link: escapeLink(location)}.Body()
}

// escapeLink makes a location safe inside the page's attribute and text.
func escapeLink(location string) string {
	if strings.ContainsAny(location, `<>&'"`) {
		return html.EscapeString(location)
	}
	return location
}
