package devstack

import (
	"log"
	"net/http"
	"time"
)

// Bounds of the API as the local stack serves it. On AWS, API Gateway bounds
// requests (30 s, 10 MB) before the function sees them; locally the server must.
// Bodies are at most 64 KiB, so a client has ReadTimeout to send one whole
// request, and an answer gets WriteTimeout.
const (
	APIReadHeaderTimeout = 10 * time.Second
	APIReadTimeout       = 30 * time.Second
	APIWriteTimeout      = 60 * time.Second
	APIIdleTimeout       = 2 * time.Minute
	APIMaxHeaderBytes    = 64 << 10
)

// NewAPIServer is the http.Server of the local API (and of anything else the
// local stack serves beside it), with every read and write bounded and a
// connection closed after a request with Transfer-Encoding. errLog may be nil.
func NewAPIServer(h http.Handler, errLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           CloseAfterTransferEncoding(h),
		ReadHeaderTimeout: APIReadHeaderTimeout,
		ReadTimeout:       APIReadTimeout,
		WriteTimeout:      APIWriteTimeout,
		IdleTimeout:       APIIdleTimeout,
		MaxHeaderBytes:    APIMaxHeaderBytes,
		ErrorLog:          errLog,
	}
}

// CloseAfterTransferEncoding closes the connection after answering a request
// that came with Transfer-Encoding. RFC 9112 section 6.1 requires it when the
// request had a Content-Length too (a possible smuggling attempt), but net/http
// removes that Content-Length before a handler runs, so the two cannot be told
// apart: every such request closes, which costs a client one reconnection.
func CloseAfterTransferEncoding(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}
