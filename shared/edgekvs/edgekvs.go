// Package edgekvs encodes routes into the records of the CloudFront KeyValueStore
// that the viewer-request function (cloudfront/viewer-request.js) answers
// redirects from. The edge sync writes these records and the exporter prints
// them: both call this package, so the store holds what the function reads.
//
// Records, for a route on host H ("www.example.com" or "*.example.com"):
//
//	H                  the host record: 0 (a placeholder: served by the origin),
//	                   or [flags, maxKey, root, fallback]
//	H|e<key>           an exact path rule, keyed by its source in matching form
//	H|s<key>           a subpath path rule, the same way
//	|config            what the function needs that is not per route
//
// A rule value is [status, opts, target] or, when the target does not split
// into path, query and fragment at its first '?' and '#' the way the Go
// redirector splits it, [status, opts, target, pathPart, query, fragment].
// '|' cannot occur in a hostname, so no rule key is a host record's, and the
// config key, which starts with it, belongs to no host.
package edgekvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// CloudFront KeyValueStore limits: a key is at most 512 bytes, a value at most
// 1 KB, a store at most 5 MB
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html,
// "Key value stores").
const (
	MaxKeyBytes   = 512
	MaxValueBytes = 1024
	StoreBytes    = 5 * 1024 * 1024
)

// RouteBudget bounds the bytes one route's records take: with it, one customer's
// thousands of rules cannot fill the store that every customer shares. A route
// over it is served by the origin ("too_large").
const RouteBudget = 64 * 1024

// Version is the record format. The function answers only from a store whose
// config record carries it; from any other it sends every request to the
// origin, so a store and a function of different formats never misread each
// other while a deployment rolls out.
const Version = 1

// Key parts.
const (
	sep        = "|"
	exactMark  = sep + "e"
	subMark    = sep + "s"
	ConfigKey  = sep + "config"
	placeValue = "0"
)

// Host record flags.
const (
	flagUpgrade     = 1  // a plain-HTTP request goes to its HTTPS URL first
	flagHSTS        = 2  // HTTPS answers carry Strict-Transport-Security
	flagIgnoreCase  = 4  // PathOptions.IgnoreCase
	flagIgnoreSlash = 8  // PathOptions.IgnoreTrailingSlash
	flagRules       = 16 // the route has path rules: match paths (else root answers every path as sent)
	flagExact       = 32 // some rule is exact: look the whole path up among the exact rules
)

// Rule option bits.
const (
	optKeepSuffix = 1
	optKeepQuery  = 2
)

// Fallback values in a host record (a fallback redirect is a rule value).
const (
	fallbackNotConfigured = 0
	fallbackGone          = 1
)

// Why a route is not served at the edge (reroute.EdgeStatus.Reason).
const (
	ReasonTooLarge       = "too_large"
	ReasonNotRedirecting = "not_redirecting"
	ReasonStoreFull      = "store_full"
	// ReasonInvalid: the stored route does not compile (the origin treats it as no route).
	ReasonInvalid = "invalid"
)

// Record is one key and value of the store.
type Record struct{ Key, Value string }

// Placeholder is the host record of a route served by the origin: the function
// finds it before any wildcard and sends the request on, so a wildcard at the
// edge never answers for a more specific route that is not there.
func Placeholder(host string) Record { return Record{Key: host, Value: placeValue} }

// Encode returns the records that serve r at the edge, its host record first.
// ok is false when r is not served there, with the reason; recs is then just
// its Placeholder.
func Encode(r reroute.Route) (recs []Record, reason string, ok bool) {
	if !r.Enabled || r.Paused {
		return []Record{Placeholder(r.Host)}, ReasonNotRedirecting, false
	}
	recs, err := encode(r)
	if err != nil {
		reason := ReasonTooLarge
		if !errors.Is(err, errTooLarge) {
			reason = ReasonInvalid
		}
		return []Record{Placeholder(r.Host)}, reason, false
	}
	return recs, "", true
}

var errTooLarge = errors.New("too large for the edge")

func encode(r reroute.Route) ([]Record, error) {
	// NewMatcher validates the targets as the origin compiles them: a route it
	// refuses is no route there, and must be none here.
	if _, err := reroute.NewMatcher(r); err != nil {
		return nil, err
	}
	var flags, maxKey int
	if r.HTTPSRedirect && r.Domain.State == reroute.DomainActive {
		flags |= flagUpgrade
	}
	if r.HSTS {
		flags |= flagHSTS
	}
	if r.PathOptions.IgnoreCase {
		flags |= flagIgnoreCase
	}
	if r.PathOptions.IgnoreTrailingSlash {
		flags |= flagIgnoreSlash
	}
	var root any = 0
	if r.Target != "" {
		root = ruleValue(r.Status, r.KeepPath, r.KeepQuery, r.Target)
	}
	recs := []Record{{Key: r.Host}} // its value once the rules are known
	if len(r.PathRules) > 0 {
		flags |= flagRules
		// As NewMatcher: the first rule of a key wins, but a subpath rule on "/"
		// beats the target (it is the root).
		seen := map[string]bool{}
		for _, pr := range r.PathRules {
			key := r.PathOptions.Key(string(reroute.AppendCanonicalPath(nil, pr.Source, false)))
			v := ruleValue(pr.Status, pr.KeepSuffix && pr.Subpath, pr.KeepQuery, pr.Target)
			if pr.Subpath && key == "/" {
				root = v
				continue
			}
			k := exactMark + key
			if pr.Subpath {
				k = subMark + key
			} else {
				flags |= flagExact
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			maxKey = max(maxKey, len(key))
			val, err := marshal(v)
			if err != nil {
				return nil, err
			}
			recs = append(recs, Record{Key: r.Host + k, Value: val})
		}
	}
	var fallback any = fallbackNotConfigured
	switch f := r.Fallback; f.Answer() {
	case reroute.FallbackGone:
		fallback = fallbackGone
	case reroute.FallbackRedirect:
		fallback = ruleValue(f.Status, false, false, f.Target)
	}
	hv, err := marshal([]any{flags, maxKey, root, fallback})
	if err != nil {
		return nil, err
	}
	recs[0].Value = hv
	for _, rec := range recs {
		if len(rec.Key) > MaxKeyBytes || len(rec.Value) > MaxValueBytes {
			return nil, fmt.Errorf("record %.40q: %w", rec.Key, errTooLarge)
		}
	}
	if Size(recs) > RouteBudget {
		return nil, fmt.Errorf("%d bytes: %w", Size(recs), errTooLarge)
	}
	return recs, nil
}

// ruleValue is a rule's value: [status, opts, target], with the target's parts
// as the redirector splits it appended when they differ from the plain split at
// the first '?' and '#' that the function makes (see splitTarget).
func ruleValue(status int, keepSuffix, keepQuery bool, target string) []any {
	if status == 0 {
		status = reroute.DefaultStatus
	}
	opts := 0
	if keepSuffix {
		opts |= optKeepSuffix
	}
	if keepQuery {
		opts |= optKeepQuery
	}
	v := []any{status, opts, target}
	if opts != 0 {
		pathPart, query, fragment, err := splitTarget(target)
		if err == nil {
			p, q, f := plainSplit(target)
			if p != pathPart || q != query || f != fragment {
				v = append(v, pathPart, query, fragment)
			}
		}
	}
	return v
}

// splitTarget splits a target as reroute's Matcher does before it splices a
// request's path and query in: scheme://host[:port]/path ("/" when the target
// has none), the raw query, and the fragment with its '#'.
func splitTarget(target string) (pathPart, query, fragment string, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", "", "", err
	}
	query = u.RawQuery
	if u.Fragment != "" || strings.HasSuffix(target, "#") {
		fragment = "#" + u.EscapedFragment()
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	if u.Path == "" && u.RawPath == "" {
		u.Path = "/"
	}
	return u.String(), query, fragment, nil
}

// plainSplit is the function's split of a target: fragment from the first '#',
// query between the first '?' before it and it.
func plainSplit(target string) (pathPart, query, fragment string) {
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target, fragment = target[:i], target[i:]
	}
	pathPart, query, _ = strings.Cut(target, "?")
	return pathPart, query, fragment
}

// marshal is compact JSON without HTML escaping: "&" stays one byte.
func marshal(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// Config is what the function needs that is not per route: the redirector's
// settings of the same names (REDIRECT_MAX_AGE and NEGATIVE_CACHE_TTL).
type Config struct {
	// PermanentMaxAge is the Cache-Control max-age of 301 and 308 answers.
	PermanentMaxAge time.Duration
	// NegativeTTL is the max-age of a 410 answer (as the origin's "not configured").
	NegativeTTL time.Duration
}

// ConfigRecords is the store's config record: [Version, permanent max-age
// seconds, negative max-age seconds].
func ConfigRecords(cfg Config) []Record {
	v := "[" + strconv.Itoa(Version) + "," + strconv.Itoa(int(cfg.PermanentMaxAge.Seconds())) + "," +
		strconv.Itoa(int(cfg.NegativeTTL.Seconds())) + "]"
	return []Record{{Key: ConfigKey, Value: v}}
}

// Size is the bytes recs take in the store: CloudFront counts a store's size
// as the sum of its keys' and values' UTF-8 bytes.
func Size(recs []Record) int {
	n := 0
	for _, r := range recs {
		n += len(r.Key) + len(r.Value)
	}
	return n
}

// HostOf is the route host a key belongs to, "" for the config key (and any
// other key that is no route's).
func HostOf(key string) string {
	host, _, _ := strings.Cut(key, sep)
	return host
}

// Candidate is a route competing for the store.
type Candidate struct {
	Route reroute.Route
	Paid  bool // its org is on a paid plan
}

// Selected is where one candidate is served from, and the records that say so.
type Selected struct {
	Host    string
	Records []Record
	// Edge is the route's new EdgeStatus, SyncedAt left for the caller to set.
	Edge reroute.EdgeStatus
}

// Budget is the bytes a store has for routes once cfg's records are in it.
func Budget(cfg Config) int { return StoreBytes - Size(ConfigRecords(cfg)) }

// Select decides which routes the store holds when it cannot hold them all:
// every route has its placeholder first (so that the store never answers for a
// route it does not hold), then routes are taken whole, paid plans first, then
// the oldest (CreatedAt), then by host, each while its records fit in what is
// left of budget; a route that does not fit is served by the origin
// ("store_full") and smaller ones after it may still fit. The result is in the
// order of cands.
func Select(cands []Candidate, budget int) []Selected {
	out := make([]Selected, len(cands))
	left := budget
	type enc struct {
		i    int
		recs []Record
	}
	var fits []enc
	for i, c := range cands {
		ph := []Record{Placeholder(c.Route.Host)}
		out[i] = Selected{Host: c.Route.Host, Records: ph}
		left -= Size(ph)
		recs, reason, ok := Encode(c.Route)
		if !ok {
			out[i].Edge = status(reroute.ServedByOrigin, reason, ph)
			continue
		}
		fits = append(fits, enc{i, recs})
	}
	slices.SortStableFunc(fits, func(a, b enc) int {
		ca, cb := cands[a.i], cands[b.i]
		switch {
		case ca.Paid != cb.Paid:
			if ca.Paid {
				return -1
			}
			return 1
		case !ca.Route.CreatedAt.Equal(cb.Route.CreatedAt):
			return ca.Route.CreatedAt.Compare(cb.Route.CreatedAt)
		}
		return strings.Compare(ca.Route.Host, cb.Route.Host)
	})
	for _, e := range fits {
		// The host record takes the placeholder's key: only the difference is new.
		extra := Size(e.recs) - Size(out[e.i].Records)
		if extra > left {
			out[e.i].Edge = status(reroute.ServedByOrigin, ReasonStoreFull, out[e.i].Records)
			continue
		}
		left -= extra
		out[e.i].Records = e.recs
		out[e.i].Edge = status(reroute.ServedAtEdge, "", e.recs)
	}
	return out
}

func status(from, reason string, recs []Record) reroute.EdgeStatus {
	return reroute.EdgeStatus{ServedFrom: from, Reason: reason, Records: len(recs), Bytes: Size(recs)}
}

// WriteImportFile writes recs in the format CloudFront imports a KeyValueStore
// from (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/kvs-with-functions-create-s3-kvp.html):
// {"data":[{"key":...,"value":...}]}, one record a line, keys sorted. Two
// records with one key are an error: the store holds one value per key.
func WriteImportFile(w io.Writer, recs []Record) error {
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b Record) int { return strings.Compare(a.Key, b.Key) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Key == sorted[i-1].Key {
			return fmt.Errorf("two records have the key %q", sorted[i].Key)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i, r := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(r.Key)
		if err != nil {
			return err
		}
		v, err := marshal(r.Value)
		if err != nil {
			return err
		}
		b.WriteString("\n{\"key\":" + k + ",\"value\":" + v + "}")
	}
	b.WriteString("\n]}\n")
	_, err := w.Write(b.Bytes())
	return err
}
