package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// pathRules makes n distinct rules, every status and option among them, sources
// carrying percent-encoded UTF-8, and targets padded to targetLen bytes (at
// least), some of them with raw UTF-8, quotes and backslashes, which the
// encoding escapes.
func pathRules(n, targetLen int, tag string) []reroute.PathRule {
	statuses := []int{301, 302, 307, 308}
	rules := make([]reroute.PathRule, n)
	for i := range rules {
		target := fmt.Sprintf("https://new.example/%s/%d", tag, i)
		switch i % 5 {
		case 1:
			target += "/café/✓"
		case 2:
			target += `?q="quoted"&b=\back`
		case 3:
			target += "?a=<b>&c=d"
		}
		if pad := targetLen - len(target); pad > 0 {
			target += "#" + strings.Repeat("x", pad-1)
		}
		rules[i] = reroute.PathRule{
			Source:     fmt.Sprintf("/caf%%C3%%A9/%%E2%%9C%%93/%s/%d", tag, i),
			Target:     target,
			Status:     statuses[i%len(statuses)],
			Subpath:    i%2 == 0,
			KeepSuffix: i%4 == 0,
			KeepQuery:  i%3 == 0,
		}
	}
	return rules
}

// ruleRoute is a route of org for host with rules, its options and fallback set.
func ruleRoute(org, host string, rules []reroute.PathRule, opts reroute.PathOptions, fb reroute.Fallback) reroute.Route {
	r := route(org, host)
	r.PathRules, r.PathOptions, r.Fallback = rules, opts, fb
	return r
}

// chunkItems lists the SKs of the rule chunk items in host's partition, and
// fails if one carries a GSI key (GSI1 must never copy rules).
func chunkItems(t *testing.T, client dynamo.API, table, host string) []string {
	t.Helper()
	var sks []string
	in := &dynamodb.QueryInput{
		TableName:              aws.String(table),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :rules)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": dynamo.KeyAttributes.PK, "#sk": dynamo.KeyAttributes.SK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "HOST#" + host}, ":rules": &types.AttributeValueMemberS{Value: "RULES#"},
		},
		ConsistentRead: aws.Bool(true),
	}
	for {
		out, err := client.Query(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			sks = append(sks, it[dynamo.KeyAttributes.SK].(*types.AttributeValueMemberS).Value)
			for _, k := range []string{dynamo.KeyAttributes.GSI1PK, dynamo.KeyAttributes.GSI1SK, dynamo.KeyAttributes.GSI2PK} {
				if _, ok := it[k]; ok {
					t.Errorf("chunk item %v carries %s", it[dynamo.KeyAttributes.SK], k)
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return sks
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// chunkVersions is the set of versions the chunk SKs hold.
func chunkVersions(sks []string) []string {
	var vs []string
	for _, sk := range sks {
		parts := strings.Split(sk, "#")
		if len(parts) != 3 {
			continue
		}
		if !slices.Contains(vs, parts[1]) {
			vs = append(vs, parts[1])
		}
	}
	return vs
}

// wantSameRoute fails unless got is want as stored: times aside, with the
// store's RuleCount and RulesVersion.
func wantSameRoute(t *testing.T, what string, got, want reroute.Route) {
	t.Helper()
	if got.RuleCount != len(want.PathRules) {
		t.Errorf("%s: RuleCount = %d, want %d", what, got.RuleCount, len(want.PathRules))
	}
	switch {
	case want.RulesVersion != 0 && got.RulesVersion != want.RulesVersion:
		t.Errorf("%s: RulesVersion = %d, want %d", what, got.RulesVersion, want.RulesVersion)
	case len(want.PathRules) > 0 && got.RulesVersion == 0:
		t.Errorf("%s: RulesVersion 0 with %d rules", what, len(want.PathRules))
	}
	if len(got.PathRules) != len(want.PathRules) {
		t.Fatalf("%s: %d rules, want %d", what, len(got.PathRules), len(want.PathRules))
	}
	for i := range want.PathRules {
		if got.PathRules[i] != want.PathRules[i] {
			t.Fatalf("%s: rule %d = %+v, want %+v", what, i, got.PathRules[i], want.PathRules[i])
		}
	}
	g, w := got, want
	g.PathRules, w.PathRules = nil, nil
	g.RuleCount, g.RulesVersion, w.RuleCount, w.RulesVersion = 0, 0, 0, 0
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s = %+v, want %+v", what, g, w)
	}
}

func TestRulesRoundTrip(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	tests := []struct {
		name       string
		rules      int
		targetLen  int
		minChunks  int
		opts       reroute.PathOptions
		fb         reroute.Fallback
		noTarget   bool
		logTimings bool
	}{
		{name: "no rules", fb: reroute.Fallback{Kind: reroute.FallbackGone}},
		{name: "one rule", rules: 1, opts: reroute.PathOptions{IgnoreCase: true}, noTarget: true,
			fb: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://fallback.example/lost", Status: 308}},
		{name: "free plan's 25", rules: 25, targetLen: 2000, opts: reroute.PathOptions{IgnoreTrailingSlash: true},
			fb: reroute.Fallback{Kind: reroute.FallbackNotConfigured}},
		{name: "10,000 long rules", rules: 10000, targetLen: 2000, minChunks: 10000 * 2000 / dynamo.RuleChunkBytes,
			opts: reroute.PathOptions{IgnoreCase: true, IgnoreTrailingSlash: true}, noTarget: true,
			fb: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://fallback.example/", Status: 302}, logTimings: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			host := fmt.Sprintf("r%d.example.com", i)
			r := ruleRoute("org-a", host, pathRules(tt.rules, tt.targetLen, "a"), tt.opts, tt.fb)
			if tt.noTarget {
				r.Target, r.KeepPath = "", false
			}
			start := time.Now()
			if err := s.CreateRoute(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			wrote := time.Since(start)
			start = time.Now()
			got, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			read := time.Since(start)
			wantSameRoute(t, "GetRoute", got, r)
			start = time.Now()
			found, ok, err := s.FindRoute(t.Context(), host)
			if err != nil || !ok {
				t.Fatalf("FindRoute = %v, %v", ok, err)
			}
			findTime := time.Since(start)
			if !reflect.DeepEqual(found.PathRules, got.PathRules) || found.RulesVersion != got.RulesVersion ||
				found.PathOptions != got.PathOptions || found.Fallback != got.Fallback || found.RuleCount != got.RuleCount {
				t.Errorf("FindRoute and GetRoute differ: %+v, %+v", found.Fallback, got.Fallback)
			}
			sks := chunkItems(t, client, table, host)
			if len(sks) < tt.minChunks || (tt.rules == 0) != (len(sks) == 0) {
				t.Errorf("%d chunk items for %d rules, want at least %d (none without rules)", len(sks), tt.rules, tt.minChunks)
			}
			if tt.logTimings {
				t.Logf("%d rules of %d-byte targets in %d chunks: CreateRoute %v, GetRoute %v, FindRoute %v",
					tt.rules, tt.targetLen, len(sks), wrote, read, findTime)
			}

			// Replacing them with as many others leaves those only.
			next := got
			next.PathRules = pathRules(tt.rules, tt.targetLen/2, "b")
			next.UpdatedAt = time.Time{}
			start = time.Now()
			if err := s.UpdateRoute(t.Context(), next, reroute.ReplaceRules); err != nil {
				t.Fatal(err)
			}
			replaced := time.Since(start)
			again, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			if again.RulesVersion == got.RulesVersion {
				t.Errorf("RulesVersion stayed %d through a replacement", got.RulesVersion)
			}
			next.RulesVersion = again.RulesVersion
			wantSameRoute(t, "GetRoute after ReplaceRules", again, next)
			after := chunkItems(t, client, table, host)
			if vs := chunkVersions(after); len(vs) > 1 {
				t.Errorf("chunks of versions %v are left, want the current one's only", vs)
			}
			if tt.logTimings {
				t.Logf("ReplaceRules with %d rules: %v", tt.rules, replaced)
			}
		})
	}
}

func TestChunkRulesBoundaries(t *testing.T) {
	t.Parallel()
	// A rule encodes as ["source","target",301,0]: 13 bytes around its source
	// and target with a three-digit status and a one-digit flag; a chunk is a
	// JSON array of them.
	rule := func(i, size int) reroute.PathRule {
		src := fmt.Sprintf("/%d", i)
		return reroute.PathRule{Source: src, Target: "https://t.example/" + strings.Repeat("y", size-13-len(src)-len("https://t.example/")), Status: 301}
	}
	// fill makes rules of about 5,000 bytes whose chunk is exactly size bytes.
	fill := func(size int) []reroute.PathRule {
		var rules []reroute.PathRule
		used := 1 // "["
		for i := 0; ; i++ {
			left := size - used - 1 // "]"
			if i > 0 {
				left-- // ","
			}
			if left <= 10000 {
				return append(rules, rule(i, left))
			}
			rules = append(rules, rule(i, 5000))
			used += 5000
			if i > 0 {
				used++
			}
		}
	}
	full := fill(dynamo.RuleChunkBytes)
	over := fill(dynamo.RuleChunkBytes + 1)
	tests := []struct {
		name   string
		rules  []reroute.PathRule
		chunks int
	}{
		{name: "none", chunks: 0},
		{name: "one", rules: []reroute.PathRule{rule(0, 100)}, chunks: 1},
		{name: "exactly a chunk", rules: full, chunks: 1},
		{name: "a byte more", rules: over, chunks: 2},
		{name: "two full chunks", rules: append(slices.Clone(full), full...), chunks: 2},
		{name: "two full and one", rules: append(append(slices.Clone(full), full...), rule(9, 100)), chunks: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, err := dynamo.ChunkRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != tt.chunks {
				t.Errorf("%d chunks, want %d", len(chunks), tt.chunks)
			}
			n := 0
			for i, c := range chunks {
				if len(c) > dynamo.RuleChunkBytes {
					t.Errorf("chunk %d is %d bytes, more than %d", i, len(c), dynamo.RuleChunkBytes)
				}
				var rows [][]any
				if err := json.Unmarshal(c, &rows); err != nil {
					t.Fatalf("chunk %d is not a JSON array: %v", i, err)
				}
				n += len(rows)
			}
			if n != len(tt.rules) {
				t.Errorf("chunks hold %d rules, want %d", n, len(tt.rules))
			}
		})
	}

	// And in the store: exactly full, and a byte over, round-trip.
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	for i, tt := range tests[2:4] {
		host := fmt.Sprintf("b%d.example.com", i)
		r := ruleRoute("org-a", host, tt.rules, reroute.PathOptions{}, reroute.Fallback{})
		mustCreate(t, s, r)
		got, err := s.GetRoute(t.Context(), host)
		if err != nil {
			t.Fatal(err)
		}
		wantSameRoute(t, tt.name, got, r)
		if n := len(chunkItems(t, client, table, host)); n != tt.chunks {
			t.Errorf("%s: %d chunk items, want %d", tt.name, n, tt.chunks)
		}
	}
}

func TestChunkRulesRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	_, err := dynamo.ChunkRules([]reroute.PathRule{{Source: "/a", Target: "https://x.example/\xff", Status: 301}})
	wantErr(t, err, reroute.CodeInvalid, "validation_failed")
}

// barrierAPI holds the first Query until a BatchGetItem has started, and fails
// it if none does: FindRoute must run them at once.
type barrierAPI struct {
	countingAPI
	once    sync.Once
	batched chan struct{}
	queried sync.Once
}

func (b *barrierAPI) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	b.once.Do(func() { close(b.batched) })
	return b.countingAPI.BatchGetItem(ctx, in, opts...)
}

func (b *barrierAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	first := false
	b.queried.Do(func() { first = true })
	if first {
		select {
		case <-b.batched:
		case <-time.After(time.Minute):
			return nil, errors.New("the BatchGetItem did not start while the Query ran")
		}
	}
	return b.countingAPI.Query(ctx, in, opts...)
}

func TestFindRouteWithRules(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	wildRules := pathRules(300, 1000, "wild")
	exactRules := pathRules(200, 1000, "exact")
	wild := ruleRoute("org-a", "*.example.com", wildRules, reroute.PathOptions{IgnoreCase: true}, reroute.Fallback{Kind: reroute.FallbackGone})
	exact := ruleRoute("org-a", "www.example.com", exactRules, reroute.PathOptions{}, reroute.Fallback{})
	apex := ruleRoute("org-a", "example.com", pathRules(3, 0, "apex"), reroute.PathOptions{}, reroute.Fallback{})
	mustCreate(t, s, wild, exact, apex)
	tests := []struct {
		name, host string
		want       reroute.Route
		calls      map[string]int
	}{
		// No wildcard can serve a name right under a public suffix: no BatchGetItem.
		{name: "exact, no wildcard candidate", host: "example.com", want: apex,
			calls: map[string]int{"Query": 1, "GetItem": 1}},
		{name: "exact beats wildcard", host: "www.example.com", want: exact,
			calls: map[string]int{"Query": 1, "BatchGetItem": 1, "GetItem": 1}},
		{name: "wildcard with rules", host: "shop.example.com", want: wild,
			calls: map[string]int{"Query": 2, "BatchGetItem": 1, "GetItem": 1}},
		{name: "none", host: "example.org", calls: map[string]int{"Query": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &barrierAPI{countingAPI: countingAPI{API: client}, batched: make(chan struct{})}
			if tt.calls["BatchGetItem"] == 0 {
				close(api.batched) // nothing to wait for
			}
			got, found, err := dynamo.New(api, table).FindRoute(t.Context(), tt.host)
			if err != nil || found != (tt.want.Host != "") {
				t.Fatalf("FindRoute = %v, %v", found, err)
			}
			if found {
				wantSameRoute(t, "FindRoute", got, tt.want)
				viaGet, err := s.GetRoute(t.Context(), tt.want.Host)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(viaGet.PathRules, got.PathRules) || viaGet.RulesVersion != got.RulesVersion {
					t.Error("GetRoute and FindRoute read different rules")
				}
			}
			if calls := api.byOp(); !maps.Equal(calls, tt.calls) {
				t.Errorf("DynamoDB calls %v, want %v", calls, tt.calls)
			}
		})
	}
}

func TestUpdateRouteKeepRules(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a")
	r := ruleRoute("org-a", "keep.example.com", pathRules(40, 100, "k"), reroute.PathOptions{},
		reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://fb.example/", Status: 307})
	mustCreate(t, s, r)
	cur, err := s.GetRoute(t.Context(), r.Host)
	if err != nil {
		t.Fatal(err)
	}
	before := chunkItems(t, client, table, r.Host)

	upd := cur
	upd.PathRules = nil // not written with KeepRules
	upd.Target, upd.Status, upd.Enabled, upd.HSTS = "https://other.example/", 308, false, true
	upd.PathOptions = reroute.PathOptions{IgnoreCase: true, IgnoreTrailingSlash: true}
	upd.Fallback = reroute.Fallback{Kind: reroute.FallbackGone}
	upd.UpdatedAt = time.Time{}
	if err := s.UpdateRoute(t.Context(), upd, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRoute(t.Context(), r.Host)
	if err != nil {
		t.Fatal(err)
	}
	want := upd
	want.PathRules = cur.PathRules
	wantSameRoute(t, "after a KeepRules update", got, want)
	if got.RulesVersion != cur.RulesVersion {
		t.Errorf("RulesVersion = %d, want %d kept", got.RulesVersion, cur.RulesVersion)
	}
	if after := chunkItems(t, client, table, r.Host); !slices.Equal(after, before) {
		t.Errorf("chunks %v became %v", before, after)
	}
	// A fallback back to none removes its attributes.
	upd.Fallback = reroute.Fallback{}
	if err := s.UpdateRoute(t.Context(), upd, reroute.KeepRules); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRoute(t.Context(), r.Host); err != nil || got.Fallback != (reroute.Fallback{}) {
		t.Errorf("Fallback = %+v, %v; want none", got.Fallback, err)
	}
}

func TestUpdateRouteStaleRulesVersion(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a", "org-b")
	r := ruleRoute("org-a", "stale.example.com", pathRules(30, 100, "v1"), reroute.PathOptions{}, reroute.Fallback{})
	mustCreate(t, s, r)
	v1, err := s.GetRoute(t.Context(), r.Host)
	if err != nil {
		t.Fatal(err)
	}
	v2 := v1
	v2.PathRules = pathRules(10, 100, "v2")
	if err := s.UpdateRoute(t.Context(), v2, reroute.ReplaceRules); err != nil {
		t.Fatal(err)
	}
	stored, err := s.GetRoute(t.Context(), r.Host)
	if err != nil {
		t.Fatal(err)
	}
	chunks := chunkItems(t, client, table, r.Host)

	stale := v1 // still at v1's version
	stale.Target = "https://stale.example/"
	stale.PathRules = pathRules(5, 100, "v3")
	other := stored
	other.OrgID = "org-b"
	tests := []struct {
		name   string
		r      reroute.Route
		rules  reroute.RulesUpdate
		code   reroute.Code
		reason string
	}{
		{name: "replace at a stale version", r: stale, rules: reroute.ReplaceRules, code: reroute.CodeConflict, reason: "route_changed"},
		{name: "settings at a stale version", r: stale, rules: reroute.KeepRules, code: reroute.CodeConflict, reason: "route_changed"},
		{name: "replace another org's", r: other, rules: reroute.ReplaceRules, code: reroute.CodeNotFound, reason: "route_not_found"},
		{name: "settings of another org's", r: other, rules: reroute.KeepRules, code: reroute.CodeNotFound, reason: "route_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, s.UpdateRoute(t.Context(), tt.r, tt.rules), tt.code, tt.reason)
			got, err := s.GetRoute(t.Context(), r.Host)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, stored) {
				t.Errorf("the route changed: %+v, want %+v", got, stored)
			}
			if after := chunkItems(t, client, table, r.Host); !slices.Equal(after, chunks) {
				t.Errorf("chunks %v became %v", chunks, after)
			}
		})
	}
}

func TestReplaceRulesRace(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	for i, tt := range raceAPIs(client) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dynamo.New(tt.api, table)
			org := fmt.Sprintf("org-%d", i)
			mustOrg(t, s, org)
			host := fmt.Sprintf("race%d.example.com", i)
			mustCreate(t, s, ruleRoute(org, host, pathRules(20, 100, "start"), reroute.PathOptions{}, reroute.Fallback{}))
			cur, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			const writers = 4
			sets := make([][]reroute.PathRule, writers)
			for w := range sets {
				sets[w] = pathRules(120+w, 3000, fmt.Sprintf("w%d", w)) // two chunks each
			}
			errs := race(writers, func(w int) error {
				r := cur
				r.PathRules = sets[w]
				return s.UpdateRoute(context.Background(), r, reroute.ReplaceRules)
			})
			winner := -1
			for w, err := range errs {
				if err == nil {
					if winner >= 0 {
						t.Fatalf("writers %d and %d both won", winner, w)
					}
					winner = w
					continue
				}
				var e *reroute.Error
				if !errors.As(err, &e) || e.Reason != "route_changed" {
					t.Errorf("writer %d: %v, want route_changed", w, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer won")
			}
			got, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.PathRules, sets[winner]) {
				t.Errorf("stored rules are not the winner's (%d rules)", len(got.PathRules))
			}
			if vs := chunkVersions(chunkItems(t, client, table, host)); len(vs) != 1 {
				t.Errorf("chunks of versions %v are left, want the winner's only", vs)
			}
		})
	}
}

func TestRuleLimits(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustCreateOrg(t, s, newOrg("free", reroute.PlanFree), reroute.Member{})
	mustCreateOrg(t, s, newOrg("dev", reroute.PlanDeveloper), reroute.Member{})
	mustCreateOrg(t, s, newOrg("down", reroute.PlanDeveloper), reroute.Member{})
	if o, err := s.GetOrg(t.Context(), "dev"); err != nil || o.RuleLimit != 1000 {
		t.Fatalf("GetOrg = RuleLimit %d, %v; want 1000", o.RuleLimit, err)
	}

	wantRefused := func(t *testing.T, err error, limit string) {
		t.Helper()
		wantErr(t, err, reroute.CodeLimit, "plan_limit_reached")
		if !strings.Contains(err.Error(), "allows "+limit+" path rules per route") {
			t.Errorf("message %q does not name the limit %s", err, limit)
		}
	}
	wantNothing := func(t *testing.T, org, host string) {
		t.Helper()
		if _, err := s.GetRoute(t.Context(), host); err == nil {
			t.Errorf("%s was stored", host)
		}
		if sks := chunkItems(t, client, table, host); len(sks) > 0 {
			t.Errorf("%d chunks left for %s", len(sks), host)
		}
		if o, err := s.GetOrg(t.Context(), org); err != nil || o.RouteCount != 0 {
			t.Errorf("org %s counts %d routes, %v", org, o.RouteCount, err)
		}
	}

	// Creating: 26 rules are one too many for the free plan; 1,001 for developer.
	wantRefused(t, s.CreateRoute(t.Context(), ruleRoute("free", "f.example.com", pathRules(26, 0, "f"), reroute.PathOptions{}, reroute.Fallback{})), "25")
	wantNothing(t, "free", "f.example.com")
	wantRefused(t, s.CreateRoute(t.Context(), ruleRoute("dev", "d.example.com", pathRules(1001, 0, "d"), reroute.PathOptions{}, reroute.Fallback{})), "1,000")
	wantNothing(t, "dev", "d.example.com")
	mustCreate(t, s, ruleRoute("free", "f.example.com", pathRules(25, 0, "f"), reroute.PathOptions{}, reroute.Fallback{}))

	// Replacing: growing past the limit is refused, and changes nothing.
	cur, err := s.GetRoute(t.Context(), "f.example.com")
	if err != nil {
		t.Fatal(err)
	}
	grown := cur
	grown.PathRules = pathRules(26, 0, "g")
	wantRefused(t, s.UpdateRoute(t.Context(), grown, reroute.ReplaceRules), "25")
	if got, err := s.GetRoute(t.Context(), "f.example.com"); err != nil || !reflect.DeepEqual(got, cur) {
		t.Errorf("after a refused replacement: %v, changed: %v", err, !reflect.DeepEqual(got, cur))
	}
	if vs := chunkVersions(chunkItems(t, client, table, "f.example.com")); len(vs) != 1 {
		t.Errorf("chunks of versions %v, want the current one's only", vs)
	}

	// A downgrade leaves a route over the limit: it may shrink, never grow.
	mustCreate(t, s, ruleRoute("down", "dn.example.com", pathRules(30, 0, "dn"), reroute.PathOptions{}, reroute.Fallback{}))
	res, err := s.ApplyBilling(t.Context(), "down", reroute.BillingChange{EventID: "evt_down", EventAt: time.Now(), Plan: reroute.PlanFree}, planOf(reroute.PlanFree))
	if err != nil || res != reroute.Applied {
		t.Fatalf("ApplyBilling = %s, %v", res, err)
	}
	if o, err := s.GetOrg(t.Context(), "down"); err != nil || o.RuleLimit != 25 {
		t.Fatalf("after the downgrade RuleLimit = %d, %v; want 25", o.RuleLimit, err)
	}
	steps := []struct {
		rules  int
		reason string
	}{
		{rules: 30}, // as many: no more than it holds
		{rules: 29},
		{rules: 30, reason: "plan_limit_reached"},
		{rules: 25},
		{rules: 26, reason: "plan_limit_reached"},
		{rules: 0},
		{rules: 25},
	}
	for i, st := range steps {
		cur, err := s.GetRoute(t.Context(), "dn.example.com")
		if err != nil {
			t.Fatal(err)
		}
		next := cur
		next.PathRules = pathRules(st.rules, 0, fmt.Sprint(i))
		err = s.UpdateRoute(t.Context(), next, reroute.ReplaceRules)
		if st.reason != "" {
			wantErr(t, err, reroute.CodeLimit, st.reason)
			continue
		}
		if err != nil {
			t.Fatalf("step %d, %d rules: %v", i, st.rules, err)
		}
		if got, err := s.GetRoute(t.Context(), "dn.example.com"); err != nil || got.RuleCount != st.rules {
			t.Fatalf("step %d: %d rules stored, %v; want %d", i, got.RuleCount, err, st.rules)
		}
	}
}

func TestLegacyOrgRuleLimit(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "old") // enterprise, but stored before rule limits: the free plan's
	_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
		TableName: aws.String(table), Key: dynamo.OrgKey("old"),
		UpdateExpression:         aws.String("REMOVE #rl"),
		ExpressionAttributeNames: map[string]string{"#rl": "ruleLimit"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := s.GetOrg(t.Context(), "old"); err != nil || o.RuleLimit != 25 {
		t.Fatalf("GetOrg = RuleLimit %d, %v; want the free plan's 25", o.RuleLimit, err)
	}
	wantErr(t, s.CreateRoute(t.Context(), ruleRoute("old", "o.example.com", pathRules(26, 0, "o"), reroute.PathOptions{}, reroute.Fallback{})),
		reroute.CodeLimit, "plan_limit_reached")
	mustCreate(t, s, ruleRoute("old", "o.example.com", pathRules(25, 0, "o"), reroute.PathOptions{}, reroute.Fallback{}))
	// A route saved before rules existed reads as none, version 0.
	mustCreate(t, s, route("old", "plain.example.com"))
	if got, err := s.GetRoute(t.Context(), "plain.example.com"); err != nil || got.RuleCount != 0 || got.RulesVersion != 0 || got.PathRules != nil {
		t.Errorf("a route without rules = %d rules, version %d, %v", got.RuleCount, got.RulesVersion, err)
	}
}

func TestDeleteRemovesRules(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "org-a", "org-b")
	hosts := []string{"del.example.com", "b1.example.net", "b2.example.net"}
	mustCreate(t, s,
		ruleRoute("org-a", hosts[0], pathRules(400, 2000, "d"), reroute.PathOptions{}, reroute.Fallback{}),
		ruleRoute("org-b", hosts[1], pathRules(400, 2000, "b1"), reroute.PathOptions{}, reroute.Fallback{}),
		ruleRoute("org-b", hosts[2], pathRules(3, 0, "b2"), reroute.PathOptions{}, reroute.Fallback{}))
	for _, h := range hosts {
		if n := len(chunkItems(t, client, table, h)); n == 0 {
			t.Fatalf("no chunks for %s", h)
		}
	}
	if err := s.DeleteRoute(t.Context(), "org-a", hosts[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrg(t.Context(), "org-b"); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if sks := chunkItems(t, client, table, h); len(sks) > 0 {
			t.Errorf("%d chunks of %s left", len(sks), h)
		}
	}
	// The hostname is free again, with rules of its own.
	again := ruleRoute("org-a", hosts[0], pathRules(2, 0, "again"), reroute.PathOptions{}, reroute.Fallback{})
	mustCreate(t, s, again)
	got, err := s.GetRoute(t.Context(), hosts[0])
	if err != nil {
		t.Fatal(err)
	}
	wantSameRoute(t, "created again", got, again)
}

func TestClaimRouteRules(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	mustOrg(t, s, "holder")
	mustCreateOrg(t, s, newOrg("free", reroute.PlanFree), reroute.Member{})
	mustOrg(t, s, "claimant")
	tests := []struct {
		name     string
		claimant reroute.Route
		reason   string
	}{
		{name: "over the claimant's limit", reason: "plan_limit_reached",
			claimant: ruleRoute("free", "c0.example.com", pathRules(26, 0, "c"), reroute.PathOptions{}, reroute.Fallback{})},
		{name: "with rules of its own",
			claimant: ruleRoute("claimant", "c1.example.com", pathRules(300, 2000, "c"), reroute.PathOptions{IgnoreCase: true}, reroute.Fallback{Kind: reroute.FallbackGone})},
		{name: "without rules", claimant: route("claimant", "c2.example.com")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.claimant.Host
			mustCreate(t, s, ruleRoute("holder", host, pathRules(200, 2000, "h"), reroute.PathOptions{}, reroute.Fallback{}))
			held, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			before := chunkItems(t, client, table, host)
			err = s.ClaimRoute(t.Context(), held, tt.claimant)
			if tt.reason != "" {
				wantErr(t, err, reroute.CodeLimit, tt.reason)
				if got, err := s.GetRoute(t.Context(), host); err != nil || !reflect.DeepEqual(got, held) {
					t.Errorf("the held route changed: %v", err)
				}
				if after := chunkItems(t, client, table, host); !slices.Equal(after, before) {
					t.Errorf("chunks %v became %v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRoute(t.Context(), host)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.claimant
			want.Domain = got.Domain
			wantSameRoute(t, "the claimed route", got, want)
			sks := chunkItems(t, client, table, host)
			if vs := chunkVersions(sks); len(tt.claimant.PathRules) == 0 && len(sks) > 0 || len(vs) > 1 {
				t.Errorf("chunks of versions %v left", vs)
			}
		})
	}
}

// BenchmarkFindRouteRules measures a cache miss of the redirector on DynamoDB
// Local: a route with 1 and with 10,000 rules (typical lengths), read by FindRoute.
func BenchmarkFindRouteRules(b *testing.B) {
	client, table := dynamotest.NewTable(b)
	s := dynamo.New(client, table)
	mustOrg(b, s, "org-a")
	for _, n := range []int{1, 10000} {
		host := fmt.Sprintf("bench%d.example.com", n)
		mustCreate(b, s, ruleRoute("org-a", host, pathRules(n, 60, "bench"), reroute.PathOptions{}, reroute.Fallback{}))
		b.Run(fmt.Sprintf("%d rules", n), func(b *testing.B) {
			for b.Loop() {
				r, found, err := s.FindRoute(b.Context(), host)
				if err != nil || !found || len(r.PathRules) != n {
					b.Fatalf("FindRoute = %d rules, %v, %v", len(r.PathRules), found, err)
				}
			}
		})
	}
}
