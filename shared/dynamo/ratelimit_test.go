package dynamo_test

import (
	"context"
	"errors"
	"strconv"
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

func TestTakeRateLimits(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	ctx := context.Background()
	route := func(host string) reroute.Limit {
		return reroute.Limit{Kind: "route-check", Subject: host, What: "checks of this route", Rate: reroute.Rate{Max: 3, Window: 30 * time.Second}}
	}
	org := func(id string) reroute.Limit {
		return reroute.Limit{Kind: "org-check", Subject: id, What: "checks in this org", Rate: reroute.Rate{Max: 5, Window: time.Minute}}
	}
	// 12:00:10 is 10 s into a 30 s window and a minute window.
	t0 := time.Date(2030, 1, 2, 12, 0, 10, 0, time.UTC)
	refused := func(err error, retry time.Duration) {
		t.Helper()
		var e *reroute.Error
		if !errors.As(err, &e) || e.Code != reroute.CodeRateLimited || e.Reason != "rate_limited" || e.RetryAfter != retry {
			t.Fatalf("got %v, want rate_limited with RetryAfter %s", err, retry)
		}
	}

	for i := range 3 {
		if err := s.Take(ctx, t0.Add(time.Duration(i)*time.Second), route("a.example.com"), org("org_1")); err != nil {
			t.Fatalf("take %d: %v", i+1, err)
		}
	}
	// The fourth in the window: 19.5 s left of it, rounded up to 20.
	refused(s.Take(ctx, t0.Add(500*time.Millisecond), route("a.example.com"), org("org_1")), 20*time.Second)
	// Another route, another org: their own counters.
	if err := s.Take(ctx, t0, route("b.example.com"), org("org_1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Take(ctx, t0, route("a.example.com"), org("org_2")); err == nil {
		t.Fatal("the route's limit does not depend on the org")
	}
	// The org's fifth is the last; a refusal counted nothing, so the route of
	// the refused take is still at 1.
	if err := s.Take(ctx, t0, route("c.example.com"), org("org_1")); err != nil {
		t.Fatal(err)
	}
	refused(s.Take(ctx, t0, route("d.example.com"), org("org_1")), 50*time.Second)
	if err := s.Take(ctx, t0, route("d.example.com")); err != nil {
		t.Fatalf("a refused take counted against the route: %v", err)
	}
	// The next window starts from nothing.
	if err := s.Take(ctx, t0.Add(20*time.Second), route("a.example.com")); err != nil {
		t.Fatalf("next window: %v", err)
	}
	// The counter expires when its window ends.
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: dynamo.RateKey("route-check", "a.example.com", t0.Add(-10*time.Second).Unix()), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := out.Item[dynamo.KeyAttributes.TTL].(*types.AttributeValueMemberN)
	if want := strconv.FormatInt(t0.Add(20*time.Second).Unix(), 10); exp == nil || exp.Value != want {
		t.Errorf("expiresAt %v, want %s", out.Item[dynamo.KeyAttributes.TTL], want)
	}
}

// TestTakeConcurrently: writers racing for one window never count past its limit.
func TestTakeConcurrently(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	l := reroute.Limit{Kind: "route-check", Subject: "a.example.com", What: "checks", Rate: reroute.Rate{Max: 4, Window: time.Hour}}
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	allowed, limited := 0, 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			err := s.Take(context.Background(), now, l)
			mu.Lock()
			defer mu.Unlock()
			switch reroute.ErrorCode(err) {
			case "":
				allowed++
			case reroute.CodeRateLimited:
				limited++
			default:
				t.Errorf("take: %v", err)
			}
		})
	}
	wg.Wait()
	if allowed != 4 || limited != 8 {
		t.Errorf("%d allowed, %d limited; want 4 and 8", allowed, limited)
	}
}

func TestTakeRefusesBadLimits(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	s := dynamo.New(client, table)
	for _, l := range []reroute.Limit{
		{Kind: "k", Subject: "s", Rate: reroute.Rate{Max: 0, Window: time.Minute}},
		{Kind: "k", Subject: "s", Rate: reroute.Rate{Max: 1, Window: time.Millisecond}},
		{Kind: "", Subject: "s", Rate: reroute.Rate{Max: 1, Window: time.Minute}},
	} {
		if err := s.Take(context.Background(), time.Now(), l); err == nil {
			t.Errorf("%+v accepted", l)
		}
	}
}
