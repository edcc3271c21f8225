package httpapi

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Bounds of one analytics question: a series has at most 744 hourly or 400
// daily buckets, which keeps an answer small and its reads from the counters few.
const (
	maxHourRange = 31 * 24 * time.Hour
	maxDayRange  = 400 * 24 * time.Hour
	// defaultDays is the window asked for when neither from nor to is given
	// (by day; by hour the last 24 hours).
	defaultDays = 30
)

type countsJSON struct {
	Hits     int64 `json:"hits"`
	Bots     int64 `json:"bots"`
	NotFound int64 `json:"notFound"`
	Edge     int64 `json:"edge"`
}

type pointJSON struct {
	Start time.Time `json:"start"`
	countsJSON
}

type topJSON struct {
	Value string `json:"value"`
	Hits  int64  `json:"hits"`
}

type analyticsJSON struct {
	Host             string      `json:"host,omitempty"`
	From             time.Time   `json:"from"`
	To               time.Time   `json:"to"`
	Granularity      string      `json:"granularity"`
	Bots             string      `json:"bots"`
	Totals           countsJSON  `json:"totals"`
	Series           []pointJSON `json:"series"`
	TopPaths         []topJSON   `json:"topPaths"`
	TopNotFoundPaths []topJSON   `json:"topNotFoundPaths"`
	TopReferrers     []topJSON   `json:"topReferrers"`
	TopCountries     []topJSON   `json:"topCountries"`
}

func toCountsJSON(c reroute.Counts) countsJSON {
	return countsJSON{Hits: c.Hits, Bots: c.Bots, NotFound: c.NotFound, Edge: c.Edge}
}

func toTopJSON(ts []reroute.Top) []topJSON {
	out := make([]topJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, topJSON{Value: t.Value, Hits: t.Hits})
	}
	return out
}

// getAnalytics answers an org's numbers, or one of its hosts', as JSON or, with
// Accept: text/csv, the series as a CSV download.
func (s *server) getAnalytics(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readAnalytics)
	if err != nil {
		return err
	}
	q, bots, err := parseAnalyticsQuery(r.URL.Query(), s.Now())
	if err != nil {
		return err
	}
	q.OrgID = a.org.ID
	if q.Host != "" {
		// A host of another org, or of no route any more, answers like any
		// unknown route: counters are only shown to the host's owner.
		rt, err := s.Routes.GetRoute(r.Context(), q.Host)
		if reroute.IsNotFound(err) || err == nil && rt.OrgID != a.org.ID {
			return errorf(reroute.CodeNotFound, "route_not_found", "no such route")
		}
		if err != nil {
			return err
		}
	}
	if s.Analytics == nil {
		return errorf(reroute.CodeNotConfigured, "analytics_not_configured", "analytics are not configured on this deployment")
	}
	rep, err := s.Analytics.Analytics(r.Context(), q)
	if err != nil {
		return err
	}
	out := analyticsJSON{
		Host: q.Host, From: q.From, To: q.To, Granularity: q.Granularity, Bots: bots,
		Totals:           toCountsJSON(rep.Totals),
		Series:           fullSeries(q, rep.Series),
		TopPaths:         toTopJSON(rep.TopPaths),
		TopNotFoundPaths: toTopJSON(rep.TopNotFoundPaths),
		TopReferrers:     toTopJSON(rep.TopReferrers),
		TopCountries:     toTopJSON(rep.TopCountries),
	}
	w.Header().Set("Cache-Control", "private, no-store")
	if !wantsCSV(r.Header.Get("Accept")) {
		encodeJSON(w, http.StatusOK, out)
		return nil
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"start", "hits", "bots", "notFound", "edge"})
	for _, p := range out.Series {
		_ = cw.Write([]string{p.Start.Format(time.RFC3339), strconv.FormatInt(p.Hits, 10),
			strconv.FormatInt(p.Bots, 10), strconv.FormatInt(p.NotFound, 10), strconv.FormatInt(p.Edge, 10)})
	}
	cw.Flush()
	name := a.org.ID
	if q.Host != "" {
		name = strings.ReplaceAll(q.Host, "*", "_")
	}
	name += "-analytics-" + q.From.Format("20060102") + "-" + q.To.Format("20060102") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

// fullSeries answers one point per bucket of [q.From, q.To), zeros where the
// counters have none, so that a chart or a spreadsheet needs no gap filling.
func fullSeries(q reroute.AnalyticsQuery, got []reroute.Point) []pointJSON {
	byStart := make(map[int64]reroute.Counts, len(got))
	for _, p := range got {
		c := byStart[p.Start.Unix()]
		c.Hits += p.Hits
		c.Bots += p.Bots
		c.NotFound += p.NotFound
		c.Edge += p.Edge
		byStart[p.Start.Unix()] = c
	}
	var out []pointJSON
	for t := q.From; t.Before(q.To); t = next(t, q.Granularity) {
		out = append(out, pointJSON{Start: t, countsJSON: toCountsJSON(byStart[t.Unix()])})
	}
	if out == nil {
		out = []pointJSON{}
	}
	return out
}

func next(t time.Time, granularity string) time.Time {
	if granularity == reroute.GranularityHour {
		return t.Add(time.Hour)
	}
	return t.AddDate(0, 0, 1)
}

// truncate is the start of the bucket t falls in.
func truncate(t time.Time, granularity string) time.Time {
	if granularity == reroute.GranularityHour {
		return t.Truncate(time.Hour)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// parseAnalyticsQuery reads host, from, to, granularity and bots. from and to are
// RFC 3339 timestamps or YYYY-MM-DD dates in UTC; a date in to is inclusive (up
// to the next midnight). The window is widened to whole buckets: from down to
// the start of its bucket, to up to the end of its.
func parseAnalyticsQuery(v url.Values, now time.Time) (reroute.AnalyticsQuery, string, error) {
	var bad []reroute.FieldError
	fail := func(field, msg string) { bad = append(bad, reroute.FieldError{Field: field, Message: msg}) }
	q := reroute.AnalyticsQuery{Granularity: reroute.GranularityDay}
	for _, name := range []string{"host", "from", "to", "granularity", "bots"} {
		if len(v[name]) > 1 {
			fail(name, name+" is given more than once")
		}
	}
	if h := v.Get("host"); h != "" {
		host, err := reroute.NormalizeHost(h)
		if err != nil {
			fail("host", "host must be a hostname such as www.example.com: "+err.Error())
		}
		q.Host = host
	}
	switch g := v.Get("granularity"); g {
	case "", reroute.GranularityDay:
	case reroute.GranularityHour:
		q.Granularity = g
	default:
		fail("granularity", "granularity must be hour or day")
	}
	bots := v.Get("bots")
	switch bots {
	case "", "include":
		bots = "include"
	case "exclude":
		q.WithoutBots = true
	default:
		fail("bots", "bots must be include or exclude")
	}
	from, fromOK := parseInstant(v.Get("from"), false)
	if !fromOK {
		fail("from", "from must be an RFC 3339 timestamp (2025-01-02T15:04:05Z) or a date (2025-01-02, UTC)")
	}
	to, toOK := parseInstant(v.Get("to"), true)
	if !toOK {
		fail("to", "to must be an RFC 3339 timestamp (2025-01-02T15:04:05Z) or a date (2025-01-02, UTC, inclusive)")
	}
	if len(bad) > 0 {
		return q, "", &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: bad}
	}
	span := defaultDays * 24 * time.Hour
	if q.Granularity == reroute.GranularityHour {
		span = 24 * time.Hour
	}
	if to.IsZero() {
		// The end of the current bucket: today (or this hour) included.
		to = next(truncate(now.UTC(), q.Granularity), q.Granularity)
	}
	if from.IsZero() {
		from = to.Add(-span)
	}
	if !from.Before(to) {
		fail("to", "to must be after from")
	}
	q.From = truncate(from, q.Granularity)
	q.To = truncate(to, q.Granularity)
	if q.To.Before(to) {
		q.To = next(q.To, q.Granularity)
	}
	limit, words := maxDayRange, "400 days by day"
	if q.Granularity == reroute.GranularityHour {
		limit, words = maxHourRange, "31 days by hour"
	}
	if len(bad) == 0 && q.To.Sub(q.From) > limit {
		fail("to", "the window is at most "+words+": ask for a shorter one or a coarser granularity")
	}
	if len(bad) > 0 {
		return q, "", &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: bad}
	}
	return q, bots, nil
}

// parseInstant reads an RFC 3339 timestamp or a YYYY-MM-DD date (UTC midnight;
// the next midnight when endOfDay). "" is the zero time, and ok.
func parseInstant(s string, endOfDay bool) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.DateOnly, s)
	if err == nil && endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	// Counters begin long after 2000; the bound keeps arithmetic on the window sane.
	if err != nil || t.Year() < 2000 || t.Year() > 9998 {
		return time.Time{}, false
	}
	return t.UTC(), true
}
