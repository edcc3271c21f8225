package redirect

import (
	"html"
	"strconv"
	"strings"
)

// Response is a rendered answer, the same for every front.
type Response struct {
	Status       int
	Location     string
	CacheControl string
	ContentType  string
	RetryAfter   string
	Body         string
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
		out = Response{Status: res.Status, Location: res.Location, ContentType: contentTypeHTML, CacheControl: noStore}
		if res.Status == 301 || res.Status == 308 {
			out.CacheControl = rd.permanent
		}
		if res.rule != nil && res.Location == res.rule.target {
			out.Body = res.rule.body
		} else {
			out.Body = redirectBody(res.Location)
		}
	case KindUnavailable:
		out = Response{Status: 503, ContentType: contentTypeHTML, CacheControl: noStore, RetryAfter: retryAfterSecs, Body: unavailablePage}
	case KindService:
		out = rd.service(path)
	default:
		out = Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative, Body: notConfiguredPage}
	}
	if method == "HEAD" {
		out.Body = ""
	}
	return out
}

// service answers the service's own hostname: a health check and a home page.
func (rd *Renderer) service(path string) Response {
	switch path {
	case healthPath:
		return Response{Status: 200, ContentType: contentTypeJSON, CacheControl: noStore, Body: healthBody}
	case "", "/":
		return Response{Status: 200, ContentType: contentTypeHTML, CacheControl: "public, max-age=300", Body: homePage}
	}
	return Response{Status: 404, ContentType: contentTypeHTML, CacheControl: rd.negative, Body: notConfiguredPage}
}

// redirectBody is the small page a client that does not follow Location shows.
func redirectBody(location string) string {
	const head = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Redirecting</title><p>Redirecting to <a href="`
	const mid = `">`
	const tail = `</a></p></html>`
	esc := location
	if strings.ContainsAny(location, `<>&'"`) {
		esc = html.EscapeString(location)
	}
	var b strings.Builder
	b.Grow(len(head) + len(mid) + len(tail) + 2*len(esc))
	b.WriteString(head)
	b.WriteString(esc)
	b.WriteString(mid)
	b.WriteString(esc)
	b.WriteString(tail)
	return b.String()
}
