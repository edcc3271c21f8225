package redirect

import (
	"encoding/json"
	"log"
	"net/http"
	"time"
)

// Bounds of the redirector's HTTP server. A redirect needs the request line and
// headers only, so every read is short: a client that trickles them is cut off,
// and a body is never read (see Handler).
const (
	ServerReadHeaderTimeout = 5 * time.Second
	ServerReadTimeout       = 10 * time.Second
	ServerWriteTimeout      = 10 * time.Second
	ServerIdleTimeout       = 60 * time.Second
	// ServerMaxHeaderBytes is above CloudFront's 20,480-byte bound on a request's
	// line and headers, so that whatever CloudFront forwards is read, and a target
	// over MaxTargetBytes gets this front's 414; past it net/http answers 431.
	ServerMaxHeaderBytes = 32 << 10
)

// NewServer is the http.Server of a self-hosted or local redirector serving h
// (a Handler), with every read and write bounded. errLog may be nil.
func NewServer(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// StatsHandler answers GET with res's Stats as JSON. It is meant for a listener of
// its own on a private address (a benchmark checks with it that its hosts are
// answered from the cache), never for the redirector's, where every path of a
// customer's hostname is a redirect.
func StatsHandler(res *Resolver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", contentTypeJSON)
		w.Header().Set("Cache-Control", noStore)
		_ = json.NewEncoder(w).Encode(res.Stats())
	})
}
