package main_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/s3test"
)

// The sample event's bucket, and its key as S3 sends it (URL-encoded, a space
// as "+") and as it is named in the bucket.
const (
	bucket     = "dnsreroute-logs-51af3dc0-da77-11e4-872e-1234567db123"
	eventKey   = "cloudfront/E2QWRUHAPOMQZL/2026/11/29/22/E2QWRUHAPOMQZL.2026-11-29-22.a1b2c3d4+%28copy%3D1%29.gz"
	decodedKey = "cloudfront/E2QWRUHAPOMQZL/2026/11/29/22/E2QWRUHAPOMQZL.2026-11-29-22.a1b2c3d4 (copy=1).gz"
)

type result struct {
	Objects []struct {
		Source string
		Stats  struct {
			Gzip                                bool
			Format                              string
			Lines, Counted, Malformed, Unrouted int64
			Duplicates                          int
		}
		Error string
	}
}

// The built bootstrap, given the S3 event of a log object CloudFront delivered
// (the sample in events/), reads the object from S3 (moto's server) by its
// decoded key and counts its requests into DynamoDB Local; the same event
// delivered again counts nothing twice; an object that cannot be read fails
// the invocation, so that Lambda retries it.
func TestBootstrapCountsADeliveredLogObject(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	srv := s3test.Start(t)
	srv.Bucket(t, bucket)

	ctx := t.Context()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000}, reroute.Member{}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	if err := store.CreateRoute(ctx, reroute.Route{Host: "old.shop.example", OrgID: "o1", Target: "https://shop.example.org/", Status: 301, Enabled: true, CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}

	// A v2 delivery in JSON lines, gzip: a person, a crawler (a real
	// Googlebot user agent), a lost path, a host no route serves, a torn line.
	ts := func(d time.Duration) string { return fmt.Sprintf("%d.%03d", at.Add(d).Unix(), 250) }
	line := func(d time.Duration, host, path, status, agent, result string) string {
		return fmt.Sprintf(`{"timestamp":%q,"x-host-header":%q,"cs-method":"GET","cs-uri-stem":%q,"sc-status":%q,"cs(Referer)":"https://news.example/item","cs(User-Agent)":%q,"c-country":"DE","x-edge-result-type":%q,"distribution-tenant-id":"dt_2wjLpjbHkLUdhWAjHllcOe"}`,
			ts(d), host, path, status, agent, result)
	}
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	for _, l := range []string{
		line(0, "old.shop.example", "/products/1", "301", "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/120.0.0.0%20Safari/537.36", "FunctionGeneratedResponse"),
		line(time.Second, "old.shop.example", "/robots.txt", "301", "Mozilla/5.0%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)", "Hit"),
		line(2*time.Second, "OLD.shop.example", "/no/such/page", "404", "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_1%20like%20Mac%20OS%20X)%20AppleWebKit/605.1.15%20(KHTML,%20like%20Gecko)%20Version/17.1%20Mobile/15E148%20Safari/604.1", "Miss"),
		line(3*time.Second, "stranger.example", "/", "404", "curl/8.5.0", "Miss"),
		`{"timestamp":"` + ts(4*time.Second) + `","x-host-header":"old.shop.exa`,
	} {
		fmt.Fprintln(zw, l)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(decodedKey), Body: bytes.NewReader(raw.Bytes())}); err != nil {
		t.Fatal(err)
	}

	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/analytics"), map[string]string{
		"TABLE_NAME":            table,
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"S3_ENDPOINT":           srv.Endpoint,
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
	})
	event, err := os.ReadFile(filepath.Join("..", "..", "events", "analytics-s3-put.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(event, []byte(bucket)) || !bytes.Contains(event, []byte(eventKey)) {
		t.Fatal("the sample event names another object")
	}
	invoke := func(event []byte) ([]byte, []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		res, err := rt.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		return res.Payload, res.Error
	}
	report := func() reroute.AnalyticsReport {
		t.Helper()
		r, err := store.Analytics(ctx, reroute.AnalyticsQuery{OrgID: "o1", Host: "old.shop.example",
			From: at.Truncate(24 * time.Hour), To: at.Truncate(24 * time.Hour).Add(48 * time.Hour), Granularity: reroute.GranularityDay})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := reroute.Counts{Hits: 3, Bots: 1, NotFound: 1, Edge: 1}

	payload, fnErr := invoke(event)
	if fnErr != nil {
		t.Fatalf("function error: %s", fnErr)
	}
	var res result
	if err := json.Unmarshal(payload, &res); err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	if len(res.Objects) != 1 {
		t.Fatalf("answer %s", payload)
	}
	o := res.Objects[0]
	if o.Source != "s3://"+bucket+"/"+decodedKey || o.Error != "" {
		t.Fatalf("object %+v, want the decoded key's source", o)
	}
	if st := o.Stats; !st.Gzip || st.Format != "json" || st.Lines != 5 || st.Counted != 3 || st.Unrouted != 1 || st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if got := report().Totals; got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}

	// S3 delivers the notification again (or Lambda retries): nothing counts twice.
	payload, fnErr = invoke(event)
	if fnErr != nil {
		t.Fatalf("second delivery: function error %s", fnErr)
	}
	if err := json.Unmarshal(payload, &res); err != nil || res.Objects[0].Stats.Duplicates == 0 {
		t.Fatalf("second delivery: %s (%v), want duplicates reported", payload, err)
	}
	if got := report().Totals; got != want {
		t.Fatalf("after a second delivery totals %+v, want %+v", got, want)
	}

	// An object that is not there (deleted, or a wrong grant) fails the
	// invocation, naming it, so that Lambda retries and the alarm sees it.
	missing := bytes.Replace(event, []byte("a1b2c3d4"), []byte("ffffffff"), 1)
	if _, fnErr = invoke(missing); fnErr == nil || !strings.Contains(string(fnErr), "ffffffff (copy=1).gz") {
		t.Fatalf("a missing object: error %s", fnErr)
	}
	if got := report().Totals; got != want {
		t.Fatalf("after a failed object totals %+v, want %+v", got, want)
	}

	// Other S3 events (a deletion) count nothing and fail nothing.
	deleted := bytes.Replace(event, []byte(`"ObjectCreated:Put"`), []byte(`"ObjectRemoved:Delete"`), 1)
	if payload, fnErr = invoke(deleted); fnErr != nil || !bytes.Contains(payload, []byte(`"objects":null`)) {
		t.Fatalf("a deletion: %s, %s", payload, fnErr)
	}
}
