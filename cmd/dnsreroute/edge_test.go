package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// `edge kvs` prints the store for the routes of the local table, and the edge
// function answers from it, run by the emulator as a user runs it.
func TestEdgeKVS(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table, "REDIRECT_MAX_AGE": "2h"}[k]
	}
	runSteps(t, getenv, []step{
		{args: "table ensure", wantOut: "is ready"},
		{args: "routes add old.example.com https://new.example.org/ -keep-path -org org_one", wantOut: "added old.example.com",
			before: func() { createOrg(t, store, "org_one", "One", reroute.PlanDeveloper, "you@example.com") }},
		{args: "routes add off.example.com https://new.example.org/ -disabled -org org_one", wantOut: "added off.example.com"},
		{args: "edge frobnicate", wantErr: "usage"},
		{args: "edge kvs -permanent-max-age x", wantErr: "invalid value"},
	})
	var out, stderr bytes.Buffer
	if err := run(context.Background(), []string{"edge", "kvs"}, getenv, &out, &stderr); err != nil {
		t.Fatalf("edge kvs: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Data []struct{ Key, Value string } `json:"data"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("edge kvs printed %s: %v", out.String(), err)
	}
	got := map[string]string{}
	for _, r := range doc.Data {
		got[r.Key] = r.Value
	}
	if got["|config"] != "[1,7200,10]" || got["off.example.com"] != "0" || !strings.Contains(got["old.example.com"], `"https://new.example.org/"`) || len(got) != 3 {
		t.Errorf("edge kvs printed %v", got)
	}
	if !strings.Contains(stderr.String(), "off.example.com: served by the origin (not_redirecting)") || !strings.Contains(stderr.String(), "1 of 2 routes at the edge") {
		t.Errorf("edge kvs reported %q", stderr.String())
	}

	file := filepath.Join(t.TempDir(), "kvs.json")
	if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "../../cloudfront/emulate.mjs", "--kvs", file)
	cmd.Stdin = strings.NewReader(`{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"198.51.100.7"},` +
		`"request":{"method":"POST","uri":"/a/b","querystring":{},"headers":{"host":{"value":"old.example.com"},"cloudfront-forwarded-proto":{"value":"https"}},"cookies":{}}}` + "\n")
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	if !strings.Contains(string(res), `"statusCode":301`) || !strings.Contains(string(res), `"location":{"value":"https://new.example.org/a/b"}`) ||
		!strings.Contains(string(res), `"cache-control":{"value":"public, max-age=7200"}`) {
		t.Errorf("the function answered %s", res)
	}
}
