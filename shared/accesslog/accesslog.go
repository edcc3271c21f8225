// Package accesslog gives the local redirector what CloudFront gives the one on
// AWS: a log of every answer, one JSON object a line with the fields and names
// of CloudFront's standard logs (v2) as the stack delivers them, and a tailer
// that feeds the new lines to the analytics every few seconds. So the local
// stack counts its requests with the same parser and counters as AWS.
package accesslog

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Fields are the record fields written, named as CloudFront's standard logs
// name them, and the same the stack's delivery asks for (RedirectLogsDelivery
// in template.yaml):
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
var Fields = []string{
	"timestamp", "x-host-header", "cs-method", "cs-uri-stem", "sc-status",
	"cs(Referer)", "cs(User-Agent)", "c-country", "x-edge-result-type", "distribution-tenant-id",
}

// Entry is one answered request.
type Entry struct {
	Time      time.Time
	Host      string
	Method    string
	Path      string // as the request sent it (escaped)
	Status    int
	Referer   string
	UserAgent string
	// Country is the viewer's ISO 3166 code; "" when unknown, as it always is
	// locally (CloudFront looks it up from the viewer's address).
	Country string
	// ResultType is x-edge-result-type; the local redirector is the origin, so
	// "Miss", as CloudFront logs an answer it had to ask the origin for.
	ResultType string
	TenantID   string // distribution-tenant-id; "" locally
}

// Writer appends entries to a log, one line each; it is safe for concurrent
// use, and every line is written with one Write, so that a reader never sees
// half of one once it ends in a newline.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// NewWriter writes to w (a file opened with O_APPEND).
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write appends e as one line.
func (w *Writer) Write(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = AppendLine(w.buf[:0], e)
	_, err := w.w.Write(w.buf)
	return err
}

// AppendLine appends e's line, with its newline, to b. Values are strings, "-"
// for none, and URL-encoded where CloudFront encodes them (the path as sent,
// the referrer and the user agent), as a v2 JSON delivery writes them.
func AppendLine(b []byte, e Entry) []byte {
	str := func(k, v string) {
		if v == "" {
			v = "-"
		}
		b = append(b, ',')
		b, _ = appendJSONString(b, k)
		b = append(b, ':')
		b, _ = appendJSONString(b, v)
	}
	ts := e.Time.UTC()
	b = append(b, `{"timestamp":"`...)
	b = strconv.AppendInt(b, ts.Unix(), 10)
	b = append(b, '.')
	ms := ts.Nanosecond() / int(time.Millisecond)
	b = append(b, "000"[:3-len(strconv.Itoa(ms))]...)
	b = strconv.AppendInt(b, int64(ms), 10)
	b = append(b, '"')
	str("x-host-header", e.Host)
	str("cs-method", e.Method)
	str("cs-uri-stem", e.Path)
	str("sc-status", strconv.Itoa(e.Status))
	str("cs(Referer)", encode(e.Referer))
	str("cs(User-Agent)", encode(e.UserAgent))
	str("c-country", e.Country)
	str("x-edge-result-type", e.ResultType)
	str("distribution-tenant-id", e.TenantID)
	return append(b, '}', '\n')
}

// encode URL-encodes a header value as CloudFront's logs do (a space as %20).
func encode(s string) string {
	if s == "" {
		return ""
	}
	return url.PathEscape(s)
}

func appendJSONString(b []byte, s string) ([]byte, error) {
	q, err := json.Marshal(s)
	return append(b, q...), err
}

// Handler logs every answer of next to w. With trustForwarded the host is
// X-Forwarded-Host when present, as the redirector itself reads it.
func Handler(next http.Handler, w *Writer, trustForwarded bool, now func() time.Time, onErr func(error)) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: rw}
		next.ServeHTTP(rec, r)
		host := r.Host
		if trustForwarded {
			if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
				host = fh
			}
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		err := w.Write(Entry{
			Time: now(), Host: host, Method: r.Method, Path: r.URL.EscapedPath(), Status: status,
			Referer: r.Header.Get("Referer"), UserAgent: r.Header.Get("User-Agent"), ResultType: "Miss",
		})
		if err != nil && onErr != nil {
			onErr(err)
		}
	})
}

// statusRecorder notes the status an http.Handler answers with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
