package redirect

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Handler is the net/http front: local runs and self-hosted servers.
type Handler struct {
	resolver       *Resolver
	renderer       *Renderer
	trustForwarded bool
	// Header values are shared slices made once; net/http only reads them.
	cacheControls map[string][]string
	contentHTML   []string
	contentJSON   []string
	hsts          []string
	closeConn     []string
}

// NewHandler serves res over HTTP. With trustForwarded the host is taken from
// X-Forwarded-Host and the scheme from X-Forwarded-Proto when present (only behind
// a proxy that sets them); otherwise a request is HTTPS when it came over TLS.
func NewHandler(res *Resolver, trustForwarded bool) *Handler {
	rd := NewRenderer(res.Config())
	h := &Handler{
		resolver:       res,
		renderer:       rd,
		trustForwarded: trustForwarded,
		cacheControls:  map[string][]string{},
		contentHTML:    []string{contentTypeHTML},
		contentJSON:    []string{contentTypeJSON},
		hsts:           []string{hstsValue},
		closeConn:      []string{"close"},
	}
	for _, v := range []string{rd.permanent, rd.negative, noStore, "public, max-age=300"} {
		h.cacheControls[v] = []string{v}
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h.trustForwarded {
		if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
			host = fh
		}
	}
	path, query := splitTarget(r)
	res := h.resolver.Resolve(r.Context(), Request{Host: host, Path: path, Query: query, Secure: h.secure(r)})
	resp := h.renderer.Render(res, r.Method, path)

	hdr := w.Header()
	if r.ContentLength != 0 {
		// A redirect never reads a body. Left pending, net/http would read up to
		// 256 KB of it, before answering or after, for as long as the client
		// trickles it; instead the answer goes at once, no more is read, and the
		// connection closes. It also closes after a request with Transfer-Encoding,
		// as RFC 9112 section 6.1 requires when it came with a Content-Length too
		// (net/http drops that header before a handler could see it).
		hdr["Connection"] = h.closeConn
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
	if resp.Location != "" {
		hdr["Location"] = []string{resp.Location}
	}
	if v, ok := h.cacheControls[resp.CacheControl]; ok {
		hdr["Cache-Control"] = v
	} else {
		hdr.Set("Cache-Control", resp.CacheControl)
	}
	if resp.ContentType == contentTypeJSON {
		hdr["Content-Type"] = h.contentJSON
	} else {
		hdr["Content-Type"] = h.contentHTML
	}
	if resp.RetryAfter != "" {
		hdr.Set("Retry-After", resp.RetryAfter)
	}
	if resp.HSTS == hstsValue {
		hdr["Strict-Transport-Security"] = h.hsts
	} else if resp.HSTS != "" {
		hdr.Set("Strict-Transport-Security", resp.HSTS)
	}
	w.WriteHeader(resp.Status)
	if sw, ok := w.(io.StringWriter); ok {
		resp.WriteBody(sw)
	} else {
		_, _ = io.WriteString(w, resp.Body())
	}
}

// secure reports whether the viewer used HTTPS: as the trusted proxy says (the
// first of a comma-separated X-Forwarded-Proto is the viewer's), or else whether
// this connection is TLS.
func (h *Handler) secure(r *http.Request) bool {
	if h.trustForwarded {
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			p, _, _ = strings.Cut(p, ",")
			return strings.EqualFold(strings.TrimSpace(p), "https")
		}
	}
	return r.TLS != nil
}

// splitTarget returns the request's path and query as the client sent them, still
// escaped, without allocating: keep-path must not decode and re-encode a path.
func splitTarget(r *http.Request) (path, query string) {
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		// An absolute-form target ("GET http://host/p") or a request built in process.
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	path, query, _ = strings.Cut(uri, "?")
	return path, query
}
