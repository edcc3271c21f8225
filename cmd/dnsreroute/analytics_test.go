package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// analytics ingest counts CloudFront log files in both formats, each file once,
// through run against DynamoDB Local, and the counts are what the API reads.
func TestAnalyticsIngestCommand(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table}[k]
	}
	dir := t.TempDir()
	w3c := filepath.Join(dir, "E2EXAMPLE.2026-11-28-10.abcd.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("#Version: 1.0\n" +
		"#Fields: date time x-host-header cs-method cs-uri-stem sc-status cs(Referer) cs(User-Agent) x-edge-result-type\n" +
		"2026-11-28\t10:00:01\told.example.com\tGET\t/a\t301\thttps://search.example/\tMozilla/5.0%20(X11;%20Linux%20x86_64)%20Chrome/120.0\tFunctionGeneratedResponse\n" +
		"2026-11-28\t10:00:02\told.example.com\tGET\t/missing\t404\t-\tMozilla/5.0%20(compatible;%20Googlebot/2.1;%20+http://www.google.com/bot.html)\tMiss\n" +
		"this line is not a log record\n" +
		"2026-11-28\t10:00:03\tnobody.example.net\tGET\t/\t404\t-\tcurl/8.5.0\tMiss\n"))
	_ = zw.Close()
	if err := os.WriteFile(w3c, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "E2EXAMPLE.2026-11-28-11.json")
	if err := os.WriteFile(jsonl, []byte(`{"timestamp":"1795863600","x-host-header":"old.example.com","cs-method":"GET","cs-uri-stem":"/b","sc-status":"301","cs(Referer)":"-","cs(User-Agent)":"curl/8.5.0","c-country":"DE","x-edge-result-type":"Miss"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runSteps(t, getenv, []step{
		{args: "table ensure", wantOut: "is ready"},
		{args: "routes add old.example.com https://new.example.org/ -org org_one", wantOut: "added old.example.com",
			before: func() { createOrg(t, store, "org_one", "One", reroute.PlanDeveloper, "you@example.com") }},
		{args: "analytics ingest", wantErr: "one or more log files"},
		{args: "analytics ingest " + filepath.Join(dir, "absent.log"), wantErr: "no such file"},
		{args: "analytics ingest " + w3c + " " + jsonl, wantOut: "4 lines, 2 counted, 1 malformed, 1 for hosts without a route"},
		{args: "analytics ingest " + w3c, wantOut: "ingested before: nothing changed"},
	})
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	rep, err := store.Analytics(t.Context(), reroute.AnalyticsQuery{OrgID: "org_one", Host: "old.example.com",
		From: day, To: day.AddDate(0, 0, 1), Granularity: reroute.GranularityDay})
	if err != nil {
		t.Fatal(err)
	}
	if want := (reroute.Counts{Hits: 3, Bots: 2, NotFound: 1, Edge: 1}); rep.Totals != want {
		t.Errorf("totals %+v, want %+v (the second ingest of a file must count nothing)", rep.Totals, want)
	}
}
