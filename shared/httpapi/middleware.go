package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// logFields collects what handlers learn that the access log should say.
type logFields struct{ org string }

type logFieldsKey struct{}

func noteOrg(ctx context.Context, orgID string) {
	if f, ok := ctx.Value(logFieldsKey{}).(*logFields); ok {
		f.org = orgID
	}
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

// observe gives each request an id (Lambda's, else a new one) and logs it once done:
// method, path, status, latency, org. Never a header, token or body.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		id := logging.RequestID(ctx)
		if id == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		ctx = logging.WithRequestID(ctx, id)
		fields := &logFields{}
		ctx = context.WithValue(ctx, logFieldsKey{}, fields)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		s.Log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"latencyMs", float64(time.Since(start).Microseconds())/1000, "org", fields.org)
	})
}

// cors lets the configured dashboard origins, and only them, call the API from a
// browser; it answers their preflights itself.
func (s *server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && slices.Contains(s.Config.CORSOrigins, origin)
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Idempotent-Replayed")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				writeError(w, r, s.Log, errorf(reroute.CodeForbidden, "origin_not_allowed", "this origin may not call the API"))
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// methods dispatches one path by method, answering 405 with Allow for the others.
type methods map[string]http.Handler

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodHead {
		if h, ok := m[http.MethodGet]; ok {
			h.ServeHTTP(w, r)
			return
		}
	}
	allow := make([]string, 0, len(m)+1)
	for k := range m {
		allow = append(allow, k)
	}
	if _, ok := m[http.MethodGet]; ok {
		allow = append(allow, http.MethodHead)
	}
	slices.Sort(allow)
	writeError(w, r, nil, &httpError{status: http.StatusMethodNotAllowed, reason: "method_not_allowed",
		msg: r.Method + " is not allowed here", allow: strings.Join(allow, ", ")})
}
