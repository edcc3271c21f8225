package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// `serve -access-log FILE` logs every answer to FILE and counts the new lines
// into the table's analytics every -ingest-every.
func TestServeLogsAndCountsAnswers(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	createOrg(t, store, "org_one", "One", reroute.PlanFree, "you@example.com")
	now := time.Now().UTC()
	if err := store.CreateRoute(t.Context(), reroute.Route{Host: "old.example.com", OrgID: "org_one", Target: "https://new.example.org/", Status: 301,
		KeepPath: true, Enabled: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "access.log")
	addr := freeAddr(t)
	getenv := func(k string) string {
		return map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": os.Getenv(dynamotest.EndpointEnv), "LOG_LEVEL": "error",
			"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}[k]
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", addr, "-access-log", logPath, "-ingest-every", "200ms"}, getenv, &out, &out)
	}()
	waitRedirect(t, "http://"+addr, "old.example.com", "/from/here", 301, "https://new.example.org/from/here")
	waitCounted(t, store, "org_one", "old.example.com", "/from/here")
	b, err := os.ReadFile(logPath)
	if err != nil || !strings.Contains(string(b), `"x-host-header":"old.example.com"`) {
		t.Errorf("the access log holds %q (%v)", b, err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve ended with %v\n%s", err, out.String())
		}
	case <-time.After(readmeWait):
		t.Fatal("serve did not stop")
	}
}
