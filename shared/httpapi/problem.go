package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/routeimport"
)

// problem is an RFC 9457 problem document, with a stable machine-readable code.
type problem struct {
	Type      string               `json:"type"`
	Title     string               `json:"title"`
	Status    int                  `json:"status"`
	Detail    string               `json:"detail,omitempty"`
	Code      string               `json:"code"`
	Fields    []reroute.FieldError `json:"fields,omitempty"`
	RequestID string               `json:"requestId,omitempty"`
	// Claimable and OwnershipRecord explain a host_taken refusal: whether the
	// hostname may be claimed, and the TXT record that proves control of it.
	Claimable       *bool          `json:"claimable,omitempty"`
	OwnershipRecord *dnsRecordJSON `json:"ownershipRecord,omitempty"`
	// Errors lists every failing line of a refused import.
	Errors []bulk.LineError `json:"errors,omitempty"`
}

const problemBase = "https://dnsreroute.dev/problems/"

// statusOf maps a domain code to its HTTP status: the one place this is decided.
func statusOf(c reroute.Code) int {
	switch c {
	case reroute.CodeInvalid:
		return http.StatusBadRequest
	case reroute.CodeUnauthenticated:
		return http.StatusUnauthorized
	case reroute.CodeForbidden, reroute.CodeLimit:
		return http.StatusForbidden
	case reroute.CodeNotFound:
		return http.StatusNotFound
	case reroute.CodeConflict:
		return http.StatusConflict
	case reroute.CodeRateLimited:
		return http.StatusTooManyRequests
	case reroute.CodeUnavailable:
		return http.StatusServiceUnavailable
	case reroute.CodeNotConfigured:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// httpError is a problem of the HTTP exchange itself, with no domain meaning:
// an unknown path, a wrong method, a body too large or of the wrong type.
type httpError struct {
	status int
	reason string
	msg    string
	allow  string // for 405
}

func (e *httpError) Error() string { return e.msg }

// writeError answers err as a problem. A 5xx never carries the error's own text: it
// is logged with the request id, which the caller can quote.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := problem{RequestID: logging.RequestID(r.Context())}
	var he *httpError
	var de *reroute.Error
	switch {
	case errors.As(err, &he):
		p.Status, p.Code, p.Detail = he.status, he.reason, he.msg
		if he.allow != "" {
			w.Header().Set("Allow", he.allow)
		}
	case errors.As(err, &de):
		p.Status, p.Code, p.Detail, p.Fields = statusOf(de.Code), de.Reason, de.Message, de.Fields
		var ce *claimError
		if errors.As(err, &ce) {
			p.Claimable, p.OwnershipRecord = &ce.claimable, &ce.record
		}
		var ie *routeimport.Error
		if errors.As(err, &ie) {
			p.Errors = ie.Errors
		}
		if p.Code == "" {
			p.Code = string(de.Code)
		}
		if de.RetryAfter > 0 && p.Status < 500 {
			w.Header().Set("Retry-After", strconv.Itoa(int((de.RetryAfter+time.Second-1)/time.Second)))
		}
	default:
		p.Status, p.Code = http.StatusInternalServerError, "internal_error"
	}
	if p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "status", p.Status, "code", p.Code, "err", err)
		p.Fields, p.Errors = nil, nil
		switch p.Status {
		case http.StatusServiceUnavailable:
			// A domain error's Message is written for the caller; its cause (Err) is not.
			if de == nil || de.Message == "" || de.Reason == "store_unavailable" {
				p.Detail = "a service this request needs is unavailable: try again shortly"
			}
			w.Header().Set("Retry-After", "5")
		case http.StatusNotImplemented:
			// Not configured by the operator: the message says what to set up.
		default:
			p.Code = "internal_error"
			p.Detail = "something went wrong on our side: quote the request id if you contact support"
		}
	}
	p.Type, p.Title = problemBase+p.Code, http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, p.Status, p)
}

// errorf builds a domain error for checks made in the API layer.
func errorf(code reroute.Code, reason, message string) error {
	return &reroute.Error{Code: code, Reason: reason, Message: message}
}
