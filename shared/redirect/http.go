package redirect

import (
	"io"
	"net/http"
	"strings"
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
}

// NewHandler serves res over HTTP. With trustForwarded the host is taken from
// X-Forwarded-Host when present (only behind a proxy that sets it).
func NewHandler(res *Resolver, trustForwarded bool) *Handler {
	rd := NewRenderer(res.Config())
	h := &Handler{
		resolver:       res,
		renderer:       rd,
		trustForwarded: trustForwarded,
		cacheControls:  map[string][]string{},
		contentHTML:    []string{contentTypeHTML},
		contentJSON:    []string{contentTypeJSON},
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
	resp := h.renderer.Render(h.resolver.Resolve(r.Context(), host, path, query), r.Method, path)

	hdr := w.Header()
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
	w.WriteHeader(resp.Status)
	if sw, ok := w.(io.StringWriter); ok {
		resp.WriteBody(sw)
	} else {
		_, _ = io.WriteString(w, resp.Body())
	}
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
