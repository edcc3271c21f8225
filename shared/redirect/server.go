package redirect

import (
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
