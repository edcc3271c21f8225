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
	body string // a fixed page, or "" when link is set
	link string // the redirect page's link, HTML-escaped
}

// Body returns the response body as one string.
func (r Response) Body() string {
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

	notConfiguredPage = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Domain not configured</title>` +
		`<h1>This domain is not configured</h1><p>No redirect is set up for this hostname. If it is yours, add a route for it in your dashboard.</p></html>`
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
		if res.rule != nil && res.Location == res.rule.target {
			out.body = res.rule.body
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
		out = Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative, body: notConfiguredPage}
	}
	if method == "HEAD" {
		out.body, out.link = "", ""
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
	return Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative, body: notConfiguredPage}
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
