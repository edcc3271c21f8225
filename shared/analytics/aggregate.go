package analytics

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/x-way/crawlerdetect"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Bounds of what one log object's aggregate holds in memory: a ranking keeps
// at most maxDistinct values (pruned to its keepOnPrune most hit when full, the
// usual top-N approximation: a value must recur to survive), and each bucket
// passes its maxBucketTop most hit values on to the store.
const (
	maxDistinct  = 4096
	keepOnPrune  = 1024
	maxBucketTop = 100
	// maxValueLen bounds a ranked value (a path, a referrer's domain) in bytes,
	// so that a bucket's item stays far below DynamoDB's 400 KB.
	maxValueLen = 256
	// maxAgents bounds the cache of user agents already classified.
	maxAgents = 8192
)

// lost says which answers are lost traffic: 404 is the not-configured page (a
// host or path no route serves), 410 a route's gone fallback.
func lost(status int) bool { return status == 404 || status == 410 }

// edgeResult is x-edge-result-type for an answer of the viewer-request function
// (the KeyValueStore had the route), per the field's documentation:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html#BasicDistributionFileFormat
const edgeResult = "FunctionGeneratedResponse"

type ranking map[string]int64

// add counts n hits of v, copying v when it is new (it may share a line's memory).
func (r ranking) add(v string, n int64) {
	if v == "" {
		return
	}
	if len(v) > maxValueLen {
		v = truncate(v, maxValueLen)
	}
	if _, ok := r[v]; ok {
		r[v] += n
		return
	}
	if len(r) >= maxDistinct {
		r.prune(keepOnPrune)
	}
	r[strings.Clone(v)] = n
}

// prune keeps the keep most hit values (ties by value, so that the result
// does not depend on map order).
func (r ranking) prune(keep int) {
	if len(r) <= keep {
		return
	}
	for _, t := range sortTop(r)[keep:] {
		delete(r, t.Value)
	}
}

// top returns the n most hit values as a new map.
func (r ranking) top(n int) map[string]int64 {
	out := make(map[string]int64, min(n, len(r)))
	for _, t := range sortTop(r)[:min(n, len(r))] {
		out[t.Value] = t.Hits
	}
	return out
}

func sortTop(m map[string]int64) []reroute.Top {
	all := make([]reroute.Top, 0, len(m))
	for v, n := range m {
		all = append(all, reroute.Top{Value: v, Hits: n})
	}
	slices.SortFunc(all, func(a, b reroute.Top) int {
		if c := cmp.Compare(b.Hits, a.Hits); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	return all
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

type rankings struct{ paths, notFound, referrers, countries ranking }

func newRankings() rankings {
	return rankings{ranking{}, ranking{}, ranking{}, ranking{}}
}

func (r rankings) merge(o rankings) {
	for _, p := range [][2]ranking{{r.paths, o.paths}, {r.notFound, o.notFound}, {r.referrers, o.referrers}, {r.countries, o.countries}} {
		for v, n := range p[1] {
			p[0].add(v, n)
		}
	}
}

func (r rankings) export() reroute.Rankings {
	return reroute.Rankings{Paths: r.paths.top(maxBucketTop), NotFoundPaths: r.notFound.top(maxBucketTop),
		Referrers: r.referrers.top(maxBucketTop), Countries: r.countries.top(maxBucketTop)}
}

// tally is one host's counts over one hour.
type tally struct {
	reroute.Counts
	status     [6]int64
	human, bot rankings
}

func newTally() *tally { return &tally{human: newRankings(), bot: newRankings()} }

func (t *tally) merge(o *tally) {
	t.Hits += o.Hits
	t.Bots += o.Bots
	t.NotFound += o.NotFound
	t.Edge += o.Edge
	for i := range t.status {
		t.status[i] += o.status[i]
	}
	t.human.merge(o.human)
	t.bot.merge(o.bot)
}

type hourKey struct {
	host string
	hour int64 // Unix hours
}

// aggregator adds up one log object's records by request host and hour.
type aggregator struct {
	hours  map[hourKey]*tally
	agents map[string]bool // user agent: a crawler's
	isBot  func(string) bool
}

func newAggregator() *aggregator {
	return &aggregator{hours: map[hourKey]*tally{}, agents: map[string]bool{}, isBot: crawlerdetect.IsCrawler}
}

// bot classifies a user agent with the crawler list, once per distinct agent:
// the list is a large regular expression, and a log repeats few agents.
func (a *aggregator) bot(agent string) bool {
	if b, ok := a.agents[agent]; ok {
		return b
	}
	b := agent != "" && a.isBot(agent)
	if len(a.agents) >= maxAgents {
		clear(a.agents)
	}
	a.agents[strings.Clone(agent)] = b
	return b
}

func (a *aggregator) add(rec *Record) {
	k := hourKey{rec.Host, rec.Time.Unix() / 3600}
	t := a.hours[k]
	if t == nil {
		k.host = strings.Clone(k.host)
		t = newTally()
		a.hours[k] = t
	}
	t.Hits++
	isBot := a.bot(rec.Agent)
	r := t.human
	if isBot {
		t.Bots++
		r = t.bot
	}
	if rec.ResultType == edgeResult {
		t.Edge++
	}
	t.status[rec.Status/100]++
	if lost(rec.Status) {
		t.NotFound++
		r.notFound.add(rec.Path, 1)
	} else {
		r.paths.add(rec.Path, 1)
	}
	r.referrers.add(refererDomain(rec.Referer), 1)
	r.countries.add(rec.Country, 1)
}

// refererDomain is the host of a referring URL, lowercased, "" for none.
func refererDomain(ref string) string {
	_, rest, ok := strings.Cut(ref, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:] // never keep credentials
	}
	return normalizeHost(rest)
}

// buckets turns the hours into the hour and day buckets of the route hosts in
// owners (request host to owner), in a fixed order; hours of hosts without an
// owner are left out. retention gives the plan's retention.
func (a *aggregator) buckets(owners map[string]reroute.AnalyticsOwner, retention func(plan string) time.Duration) []reroute.AnalyticsBucket {
	type bkey struct {
		host  string
		gran  string
		start int64
	}
	merged := map[bkey]*tally{}
	plans := map[string]string{}
	for k, t := range a.hours {
		o, ok := owners[k.host]
		if !ok {
			continue
		}
		plans[o.RouteHost] = o.Plan
		hour := time.Unix(k.hour*3600, 0).UTC()
		day := time.Date(hour.Year(), hour.Month(), hour.Day(), 0, 0, 0, 0, time.UTC)
		for _, bk := range []bkey{{o.RouteHost, reroute.GranularityHour, hour.Unix()}, {o.RouteHost, reroute.GranularityDay, day.Unix()}} {
			m := merged[bk]
			if m == nil {
				m = newTally()
				merged[bk] = m
			}
			m.merge(t)
		}
	}
	out := make([]reroute.AnalyticsBucket, 0, len(merged))
	for k, t := range merged {
		start := time.Unix(k.start, 0).UTC()
		end := start.Add(time.Hour)
		if k.gran == reroute.GranularityDay {
			end = start.AddDate(0, 0, 1)
		}
		out = append(out, reroute.AnalyticsBucket{
			Host: k.host, Granularity: k.gran, Start: start, Counts: t.Counts, Status: t.status,
			Human: t.human.export(), Bot: t.bot.export(), ExpiresAt: end.Add(retention(plans[k.host])),
		})
	}
	sortBuckets(out)
	return out
}

// sortBuckets puts buckets in one fixed order (host, granularity, start), so
// that a second delivery of an object makes the same buckets in the same order.
func sortBuckets(b []reroute.AnalyticsBucket) {
	slices.SortFunc(b, func(x, y reroute.AnalyticsBucket) int {
		return cmp.Or(strings.Compare(x.Host, y.Host), strings.Compare(x.Granularity, y.Granularity), x.Start.Compare(y.Start))
	})
}
