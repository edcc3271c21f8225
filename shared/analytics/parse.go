// Package analytics counts what CloudFront answered for each host, from its
// standard logs: it reads a log object (W3C or JSON lines, gzip or plain),
// classifies bots with a maintained crawler list, and adds per-host hourly and
// daily counters to a reroute.AnalyticsWriter exactly once per object. No IP
// address, cookie or query string is kept: only the fields counted below.
package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Record is what analytics reads of one log line. Its strings may share memory
// with the line: copy one to keep it.
type Record struct {
	Time    time.Time
	Host    string // the viewer's Host header, normalized
	Method  string
	Path    string // decoded where the escapes are valid
	Status  int
	Referer string // the referring page's URL, "" for none
	Agent   string // the User-Agent, decoded
	Country string // ISO 3166 code, "" when unknown
	// ResultType is x-edge-result-type: "FunctionGeneratedResponse" when the
	// viewer-request function answered.
	ResultType string
}

// Field names of CloudFront's standard logs, as both formats name them:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html#BasicDistributionFileFormat
const (
	fieldDate        = "date"
	fieldTime        = "time"
	fieldTimestamp   = "timestamp"
	fieldTimestampMS = "timestamp(ms)"
	fieldHost        = "x-host-header"
	fieldMethod      = "cs-method"
	fieldPath        = "cs-uri-stem"
	fieldStatus      = "sc-status"
	fieldReferer     = "cs(Referer)"
	fieldAgent       = "cs(User-Agent)"
	fieldCountry     = "c-country"
	fieldResultType  = "x-edge-result-type"
)

// errMalformed is a line that cannot be counted; the caller counts and skips it.
var errMalformed = errors.New("malformed log line")

// w3cFields maps the fields a W3C file's #Fields line names to their columns.
type w3cFields struct {
	date, time, timestamp, timestampMS, host, method, path, status, referer, agent, country, result int
	n                                                                                               int
}

// parseFields reads a "#Fields: a b c" directive's names.
func parseFields(directive string) (w3cFields, error) {
	f := w3cFields{date: -1, time: -1, timestamp: -1, timestampMS: -1, host: -1, method: -1, path: -1,
		status: -1, referer: -1, agent: -1, country: -1, result: -1}
	names := strings.Fields(directive)
	for i, name := range names {
		switch name {
		case fieldDate:
			f.date = i
		case fieldTime:
			f.time = i
		case fieldTimestamp:
			f.timestamp = i
		case fieldTimestampMS:
			f.timestampMS = i
		case fieldHost:
			f.host = i
		case fieldMethod:
			f.method = i
		case fieldPath:
			f.path = i
		case fieldStatus:
			f.status = i
		case fieldReferer:
			f.referer = i
		case fieldAgent:
			f.agent = i
		case fieldCountry:
			f.country = i
		case fieldResultType:
			f.result = i
		}
	}
	f.n = len(names)
	if f.host < 0 || f.status < 0 || f.path < 0 || (f.timestamp < 0 && f.timestampMS < 0 && (f.date < 0 || f.time < 0)) {
		return f, errors.New("the #Fields line lacks x-host-header, cs-uri-stem, sc-status or a time")
	}
	return f, nil
}

// parseW3C reads one data line of a W3C file. Values are tab-separated (the
// legacy logs' and v2's default); a v2 delivery configured with another
// delimiter (a space, a comma) is read too, since every value is URL-encoded
// and so holds none.
func parseW3C(line string, f *w3cFields, rec *Record) error {
	var cols [64]string
	sep := byte('\t')
	if strings.IndexByte(line, '\t') < 0 {
		sep = ' '
		if strings.Count(line, " ") != f.n-1 && strings.Count(line, ",") == f.n-1 {
			sep = ','
		}
	}
	n := 0
	for n < len(cols) {
		i := strings.IndexByte(line, sep)
		if i < 0 {
			cols[n] = line
			n++
			break
		}
		cols[n] = line[:i]
		line = line[i+1:]
		n++
	}
	if n != f.n || f.n > len(cols) {
		return errMalformed
	}
	col := func(i int) string {
		if i < 0 || cols[i] == "-" {
			return ""
		}
		return cols[i]
	}
	var ok bool
	switch {
	case f.timestampMS >= 0 && col(f.timestampMS) != "":
		rec.Time, ok = parseEpoch(col(f.timestampMS), true)
	case f.timestamp >= 0 && col(f.timestamp) != "":
		rec.Time, ok = parseTimestamp(col(f.timestamp))
	default:
		rec.Time, ok = parseDateTime(col(f.date), col(f.time))
	}
	if !ok {
		return errMalformed
	}
	return fill(rec, col(f.host), col(f.method), col(f.path), col(f.status), col(f.referer), col(f.agent), col(f.country), col(f.result))
}

// jsonLine is one line of a v2 delivery in JSON: an object of the configured
// fields, each value a string ("-" for none) or a number.
type jsonLine struct {
	Date        jsonValue `json:"date"`
	Time        jsonValue `json:"time"`
	Timestamp   jsonValue `json:"timestamp"`
	TimestampMS jsonValue `json:"timestamp(ms)"`
	Host        jsonValue `json:"x-host-header"`
	Method      jsonValue `json:"cs-method"`
	Path        jsonValue `json:"cs-uri-stem"`
	Status      jsonValue `json:"sc-status"`
	Referer     jsonValue `json:"cs(Referer)"`
	Agent       jsonValue `json:"cs(User-Agent)"`
	Country     jsonValue `json:"c-country"`
	Result      jsonValue `json:"x-edge-result-type"`
}

// jsonValue reads a string or a number as text; null and "-" read as "".
type jsonValue string

func (v *jsonValue) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "-" {
			s = ""
		}
		*v = jsonValue(s)
	case bytes.Equal(b, []byte("null")):
		*v = ""
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*v = jsonValue(b)
	default:
		return errMalformed
	}
	return nil
}

func parseJSON(line []byte, rec *Record) error {
	var j jsonLine
	if err := json.Unmarshal(line, &j); err != nil {
		return errMalformed
	}
	var ok bool
	switch {
	case j.TimestampMS != "":
		rec.Time, ok = parseEpoch(string(j.TimestampMS), true)
	case j.Timestamp != "":
		rec.Time, ok = parseTimestamp(string(j.Timestamp))
	default:
		rec.Time, ok = parseDateTime(string(j.Date), string(j.Time))
	}
	if !ok {
		return errMalformed
	}
	return fill(rec, string(j.Host), string(j.Method), string(j.Path), string(j.Status),
		string(j.Referer), string(j.Agent), string(j.Country), string(j.Result))
}

// fill checks and normalizes a line's values into rec.
func fill(rec *Record, host, method, path, status, referer, agent, country, result string) error {
	host = normalizeHost(host)
	if host == "" || path == "" || path[0] != '/' {
		return errMalformed
	}
	code, err := strconv.Atoi(status)
	if err != nil || code < 100 || code > 599 {
		return errMalformed
	}
	rec.Host, rec.Method, rec.Status, rec.ResultType = host, method, code, result
	rec.Path = unescape(path)
	rec.Referer = unescape(referer)
	rec.Agent = unescape(agent)
	rec.Country = ""
	if len(country) == 2 {
		rec.Country = strings.ToUpper(country)
	}
	return nil
}

// unescape decodes CloudFront's URL-encoding of a value, and leaves a value
// whose escapes are invalid as it is.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// normalizeHost lowercases a Host header and drops its port and a final dot.
func normalizeHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

func parseDateTime(date, clock string) (time.Time, bool) {
	if len(date) != 10 || len(clock) < 8 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05", date+"T"+clock[:8])
	return t, err == nil
}

// parseTimestamp reads v2's timestamp: Unix seconds (with or without a fraction),
// Unix milliseconds, or an RFC 3339 time.
func parseTimestamp(s string) (time.Time, bool) {
	if strings.ContainsAny(s, "T-:") {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err == nil
	}
	return parseEpoch(s, false)
}

func parseEpoch(s string, ms bool) (time.Time, bool) {
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false
	}
	if ms || n > 1e11 { // seconds that large are past the year 5000: milliseconds
		return time.UnixMilli(n).UTC(), true
	}
	nanos := int64(0)
	if frac != "" {
		f, err := strconv.ParseFloat("0."+frac, 64)
		if err != nil {
			return time.Time{}, false
		}
		nanos = int64(f * 1e9)
	}
	return time.Unix(n, nanos).UTC(), true
}
