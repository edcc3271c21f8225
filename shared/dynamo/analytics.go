package dynamo

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var (
	_ reroute.AnalyticsWriter = (*Store)(nil)
	_ reroute.AnalyticsReader = (*Store)(nil)
)

// An analytics bucket (see keys.go) holds a route host's counts over an hour or
// a day. Counters are added with ADD; the rankings, bounded maps of value to
// hits, are read, merged and written back whole on condition that the bucket's
// version (statsVersion) is still the one read, so that two log objects counted
// at once never lose each other's entries. Humans and bots are ranked apart
// (the "b" maps are bots'), so that a report can leave bots out.
type statsItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Host     string `dynamodbav:"statsHost"`
	Gran     string `dynamodbav:"statsGranularity"`
	Start    string `dynamodbav:"statsStart"`
	Version  int64  `dynamodbav:"statsVersion"`
	Hits     int64  `dynamodbav:"hits"`
	Bots     int64  `dynamodbav:"bots"`
	NotFound int64  `dynamodbav:"notFound"`
	Edge     int64  `dynamodbav:"edge"`

	Paths        map[string]int64 `dynamodbav:"topPaths,omitempty"`
	NotFound404  map[string]int64 `dynamodbav:"topNotFound,omitempty"`
	Referrers    map[string]int64 `dynamodbav:"topReferrers,omitempty"`
	Countries    map[string]int64 `dynamodbav:"topCountries,omitempty"`
	BotPaths     map[string]int64 `dynamodbav:"botTopPaths,omitempty"`
	BotNotFound  map[string]int64 `dynamodbav:"botTopNotFound,omitempty"`
	BotReferrers map[string]int64 `dynamodbav:"botTopReferrers,omitempty"`
	BotCountries map[string]int64 `dynamodbav:"botTopCountries,omitempty"`
}

// Status classes are counted as status1xx … status5xx.
func statusAttr(class int) string { return "status" + strconv.Itoa(class) + "xx" }

const (
	// storedTop bounds each ranking of a bucket: 8 rankings of 30 values of at
	// most 256 bytes keep an item under 70 KB, far below DynamoDB's 400 KB.
	storedTop = 30
	// statsPerPart is how many buckets one transaction writes, beside its
	// marker: 50 items of at most 70 KB stay under a transaction's 4 MB, and 51
	// under its 100 items.
	// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
	statsPerPart = 50
	// maxStatsAttempts bounds the retries of a part whose buckets another log
	// object changed between our read and our write.
	maxStatsAttempts = 20
)

// AnalyticsOwner finds the route that serves host and its org's plan.
func (s *Store) AnalyticsOwner(ctx context.Context, host string) (reroute.AnalyticsOwner, bool, error) {
	r, ok, err := s.FindRoute(ctx, host)
	if err != nil || !ok {
		return reroute.AnalyticsOwner{}, false, err
	}
	o := reroute.AnalyticsOwner{RouteHost: r.Host, OrgID: r.OrgID}
	org, found, err := s.readOrg(ctx, r.OrgID)
	if err != nil {
		return reroute.AnalyticsOwner{}, false, err
	}
	if found {
		o.Plan = org.Plan
	}
	return o, true, nil
}

// AddAnalytics adds buckets, statsPerPart to a transaction in the order of
// host, granularity and start; each transaction also puts the marker of its
// part of source, on condition that there is none. A second call with the same
// source and buckets (a log object delivered or processed again) finds each
// part's marker and changes nothing; a call that failed half-way applies, when
// retried, only the parts it had not.
func (s *Store) AddAnalytics(ctx context.Context, source string, buckets []reroute.AnalyticsBucket) (reroute.AnalyticsWrite, error) {
	var w reroute.AnalyticsWrite
	if source == "" {
		return w, reroute.Errorf(reroute.CodeInvalid, "validation_failed", "a log object needs its source name")
	}
	for _, b := range buckets {
		if err := checkBucket(b); err != nil {
			return w, err
		}
	}
	b := slices.Clone(buckets)
	slices.SortFunc(b, func(x, y reroute.AnalyticsBucket) int {
		return cmp.Or(strings.Compare(x.Host, y.Host), strings.Compare(x.Granularity, y.Granularity), x.Start.Compare(y.Start))
	})
	for part, start := 0, 0; start < len(b); part, start = part+1, start+statsPerPart {
		dup, err := s.addPart(ctx, source, part, b[start:min(start+statsPerPart, len(b))])
		if err != nil {
			return w, err
		}
		w.Parts++
		if dup {
			w.Duplicates++
		}
	}
	return w, nil
}

func checkBucket(b reroute.AnalyticsBucket) error {
	var truncated time.Time
	switch b.Granularity {
	case reroute.GranularityHour:
		truncated = b.Start.UTC().Truncate(time.Hour)
	case reroute.GranularityDay:
		y, m, d := b.Start.UTC().Date()
		truncated = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	default:
		return reroute.Errorf(reroute.CodeInvalid, "validation_failed", "unknown granularity %q", b.Granularity)
	}
	if b.Host == "" || !b.Start.Equal(truncated) || b.ExpiresAt.IsZero() {
		return reroute.Errorf(reroute.CodeInvalid, "validation_failed", "a bucket needs a host, a start on its %s and an expiry", b.Granularity)
	}
	return nil
}

// addPart writes one part; dup reports that its marker was there already.
func (s *Store) addPart(ctx context.Context, source string, part int, buckets []reroute.AnalyticsBucket) (dup bool, err error) {
	marker := logObjectKey(source, part)
	keys := make([]map[string]types.AttributeValue, 0, len(buckets)+1)
	keys = append(keys, marker)
	expires := buckets[0].ExpiresAt
	for _, b := range buckets {
		keys = append(keys, statsKey(b.Host, b.Granularity, b.Start))
		if b.ExpiresAt.After(expires) {
			expires = b.ExpiresAt
		}
	}
	for attempt := 1; ; attempt++ {
		stored, err := s.readStats(ctx, keys)
		if err != nil {
			return false, err
		}
		if _, ok := stored[keyString(marker)]; ok {
			return true, nil
		}
		// The marker lives as long as the counters it guards: until then, a
		// delivery of the object again is recognised.
		mk := keyOf(marker)
		mk[attrTTL] = avN(int(expires.Unix()))
		mk["logSource"] = avS(source)
		items := []types.TransactWriteItem{{Put: &types.Put{
			TableName: aws.String(s.table), Item: mk,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		}}}
		for i, b := range buckets {
			items = append(items, s.statsUpdate(keys[i+1], b, stored[keyString(keys[i+1])]))
		}
		err = s.transact(ctx, items...)
		if err == nil {
			return false, nil
		}
		i, failed := conditionFailed(err)
		if failed && i == 0 {
			return true, nil // applied by a delivery running beside this one
		}
		if !failed || attempt == maxStatsAttempts {
			return false, unavailable(err)
		}
		// A bucket changed since it was read: read again and merge again.
	}
}

// readStats reads keys (at most 100) consistently, by their keyString.
func (s *Store) readStats(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]statsItem, error) {
	out := make(map[string]statsItem, len(keys))
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	backoff := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, unavailable(err)
		}
		for _, item := range res.Responses[s.table] {
			var it statsItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decoding an analytics bucket: %w", err)
			}
			out[keyString(keyOf(item))] = it
		}
		left, ok := res.UnprocessedKeys[s.table]
		if !ok || len(left.Keys) == 0 {
			return out, nil
		}
		if attempt == maxUnprocessedRetries {
			return nil, unavailable(fmt.Errorf("%d keys still unprocessed after %d attempts", len(left.Keys), attempt+1))
		}
		if err := sleep(ctx, backoff); err != nil {
			return nil, unavailable(err)
		}
		backoff *= 2
		req = map[string]types.KeysAndAttributes{s.table: left}
	}
}

func keyString(k map[string]types.AttributeValue) string {
	pk, _ := k[attrPK].(*types.AttributeValueMemberS)
	sk, _ := k[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

// statsUpdate adds b to the bucket stored as old (zero: none yet).
func (s *Store) statsUpdate(key map[string]types.AttributeValue, b reroute.AnalyticsBucket, old statsItem) types.TransactWriteItem {
	u := newUpdateExpr()
	add := func(attr string, n int64) string {
		return u.name(attr) + " " + u.value(":"+attr, &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)})
	}
	adds := []string{add("hits", b.Hits), add("bots", b.Bots), add("notFound", b.NotFound), add("edge", b.Edge), add("statsVersion", 1)}
	for class := 1; class < len(b.Status); class++ {
		if b.Status[class] != 0 {
			adds = append(adds, add(statusAttr(class), b.Status[class]))
		}
	}
	u.set("statsHost", u.value(":host", avS(b.Host)))
	u.set("statsGranularity", u.value(":gran", avS(b.Granularity)))
	u.set("statsStart", u.value(":start", avS(formatTime(b.Start))))
	u.set(attrTTL, u.value(":exp", avN(int(b.ExpiresAt.Unix()))))
	for _, r := range []struct {
		attr     string
		old, new map[string]int64
	}{
		{"topPaths", old.Paths, b.Human.Paths}, {"topNotFound", old.NotFound404, b.Human.NotFoundPaths},
		{"topReferrers", old.Referrers, b.Human.Referrers}, {"topCountries", old.Countries, b.Human.Countries},
		{"botTopPaths", old.BotPaths, b.Bot.Paths}, {"botTopNotFound", old.BotNotFound, b.Bot.NotFoundPaths},
		{"botTopReferrers", old.BotReferrers, b.Bot.Referrers}, {"botTopCountries", old.BotCountries, b.Bot.Countries},
	} {
		if len(r.new) == 0 {
			continue // nothing to add: the stored map stands
		}
		merged := mergeTop(storedTop, r.old, r.new)
		av, err := attributevalue.Marshal(merged)
		if err != nil {
			panic(err) // a map of strings to numbers always marshals
		}
		u.set(r.attr, u.value(":"+r.attr, av))
	}
	cond := "attribute_not_exists(" + u.name("statsVersion") + ")"
	if old.Version != 0 {
		cond = u.name("statsVersion") + " = " + u.value(":readVersion", &types.AttributeValueMemberN{Value: strconv.FormatInt(old.Version, 10)})
	}
	expr := u.expression() + " ADD " + strings.Join(adds, ", ")
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.table), Key: key,
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	}}
}

// mergeTop adds the maps up and keeps the n most hit values (ties by value).
func mergeTop(n int, maps ...map[string]int64) map[string]int64 {
	sum := map[string]int64{}
	for _, m := range maps {
		for v, h := range m {
			sum[v] += h
		}
	}
	top := sortTops(sum)
	out := make(map[string]int64, min(n, len(top)))
	for _, t := range top[:min(n, len(top))] {
		out[t.Value] = t.Hits
	}
	return out
}

func sortTops(m map[string]int64) []reroute.Top {
	all := make([]reroute.Top, 0, len(m))
	for v, h := range m {
		all = append(all, reroute.Top{Value: v, Hits: h})
	}
	slices.SortFunc(all, func(a, b reroute.Top) int {
		return cmp.Or(cmp.Compare(b.Hits, a.Hits), strings.Compare(a.Value, b.Value))
	})
	return all
}

// Bounds of a query, so that one report reads a bounded number of items: hours
// over at most 31 days, days over at most 400.
const (
	maxHourRange = 31 * 24 * time.Hour
	maxDayRange  = 400 * 24 * time.Hour
	// analyticsReaders bounds the Queries an org's report runs at once.
	analyticsReaders = 8
)

// Analytics answers q from the buckets of the org's hosts (or of q.Host, which
// must be one of its routes: another org's host is not found). Buckets starting
// in [From, To) count; the series has a point for each, zero where nothing was
// counted; the rankings merge the buckets' and keep reroute.MaxTop of each.
func (s *Store) Analytics(ctx context.Context, q reroute.AnalyticsQuery) (reroute.AnalyticsReport, error) {
	step, first, err := checkQuery(q)
	if err != nil {
		return reroute.AnalyticsReport{}, err
	}
	hosts, err := s.analyticsHosts(ctx, q.OrgID, q.Host)
	if err != nil {
		return reroute.AnalyticsReport{}, err
	}
	perHost := make([][]statsItem, len(hosts))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(analyticsReaders)
	for i, h := range hosts {
		g.Go(func() error {
			items, err := s.queryStats(gctx, h, q.Granularity, first, q.To)
			perHost[i] = items
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return reroute.AnalyticsReport{}, err
	}
	var rep reroute.AnalyticsReport
	index := map[string]int{}
	for t := first; t.Before(q.To); t = step(t) {
		index[statsSK(q.Granularity, t)] = len(rep.Series)
		rep.Series = append(rep.Series, reroute.Point{Start: t})
	}
	ranks := [4]map[string]int64{{}, {}, {}, {}}
	for _, items := range perHost {
		for _, it := range items {
			i, ok := index[it.SK]
			if !ok {
				continue
			}
			p := &rep.Series[i]
			p.Hits += it.Hits
			p.Bots += it.Bots
			p.NotFound += it.NotFound
			p.Edge += it.Edge
			add := [][2]map[string]int64{{ranks[0], it.Paths}, {ranks[1], it.NotFound404}, {ranks[2], it.Referrers}, {ranks[3], it.Countries}}
			if !q.WithoutBots {
				add = append(add, [][2]map[string]int64{{ranks[0], it.BotPaths}, {ranks[1], it.BotNotFound}, {ranks[2], it.BotReferrers}, {ranks[3], it.BotCountries}}...)
			}
			for _, a := range add {
				for v, h := range a[1] {
					a[0][v] += h
				}
			}
		}
	}
	for _, p := range rep.Series {
		rep.Totals.Hits += p.Hits
		rep.Totals.Bots += p.Bots
		rep.Totals.NotFound += p.NotFound
		rep.Totals.Edge += p.Edge
	}
	top := func(m map[string]int64) []reroute.Top {
		all := sortTops(m)
		return all[:min(reroute.MaxTop, len(all)):min(reroute.MaxTop, len(all))]
	}
	rep.TopPaths, rep.TopNotFoundPaths, rep.TopReferrers, rep.TopCountries = top(ranks[0]), top(ranks[1]), top(ranks[2]), top(ranks[3])
	return rep, nil
}

// checkQuery validates q and returns the step between its buckets and the start
// of the first bucket in [From, To).
func checkQuery(q reroute.AnalyticsQuery) (step func(time.Time) time.Time, first time.Time, err error) {
	var v []reroute.FieldError
	from, to := q.From.UTC(), q.To.UTC()
	var maxRange time.Duration
	switch q.Granularity {
	case reroute.GranularityHour:
		step = func(t time.Time) time.Time { return t.Add(time.Hour) }
		first = from.Truncate(time.Hour)
		maxRange = maxHourRange
	case reroute.GranularityDay:
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		y, m, d := from.Date()
		first = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		maxRange = maxDayRange
	default:
		v = append(v, reroute.FieldError{Field: "granularity", Message: "must be hour or day"})
	}
	if first.Before(from) {
		first = step(first) // a bucket starting before From is not in [From, To)
	}
	switch {
	case q.OrgID == "":
		v = append(v, reroute.FieldError{Field: "orgId", Message: "is required"})
	case q.From.IsZero() || q.To.IsZero():
		v = append(v, reroute.FieldError{Field: "from", Message: "from and to are required"})
	case !from.Before(to):
		v = append(v, reroute.FieldError{Field: "to", Message: "must be after from"})
	case maxRange > 0 && to.Sub(from) > maxRange:
		v = append(v, reroute.FieldError{Field: "to", Message: fmt.Sprintf("a range of %ss spans at most %d days", q.Granularity, int(maxRange.Hours()/24))})
	}
	if len(v) > 0 {
		return nil, time.Time{}, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: v}
	}
	return step, first, nil
}

// analyticsHosts is the org's route hosts, or host alone when it is one of them.
func (s *Store) analyticsHosts(ctx context.Context, orgID, host string) ([]string, error) {
	if host != "" {
		r, err := s.GetRoute(ctx, host)
		if err != nil {
			return nil, err
		}
		if r.OrgID != orgID {
			return nil, errRouteNotFound() // another org's host: not found, as everywhere
		}
		return []string{r.Host}, nil
	}
	var hosts []string
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := s.ListRoutes(ctx, orgID, page)
		if err != nil {
			return nil, err
		}
		for _, r := range p.Items {
			hosts = append(hosts, r.Host)
		}
		if p.NextCursor == "" {
			return hosts, nil
		}
		page.Cursor = p.NextCursor
	}
}

// queryStats reads host's buckets of granularity g starting in [from, to).
func (s *Store) queryStats(ctx context.Context, host, g string, from, to time.Time) ([]statsItem, error) {
	last := to.Add(-time.Nanosecond)
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(statsPK(host)), ":from": avS(statsSK(g, from)), ":to": avS(statsSK(g, last)),
		},
	}
	var items []statsItem
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(err)
		}
		var page []statsItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &page); err != nil {
			return nil, fmt.Errorf("decoding analytics buckets: %w", err)
		}
		items = append(items, page...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
