package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
)

// The command is tested through run, as a user types it, against DynamoDB Local.
func TestRoutesCommands(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table}[k]
	}
	csv := filepath.Join(t.TempDir(), "routes.csv")
	if err := os.WriteFile(csv, []byte("# host,target,status\na.example.com,https://a.example.org/\nb.example.com, https://b.example.org/x,302\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("c.example.com,https://c.example.org/\nbad_host.com,https://x.example.org/\nd.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		args    string
		wantOut string
		wantErr string
	}{
		{args: "table ensure", wantOut: "is ready"},
		{args: "routes add Old.Example.com. https://new.example.org/ -keep-path", wantOut: "added old.example.com -> https://new.example.org/ (301)"},
		{args: "routes add old.example.com https://other.example.org/", wantErr: "already routed"},
		{args: "routes add other.example.com https://other.example.org/ -org someone-else", wantOut: "added other.example.com"},
		{args: "routes add loop.example.com https://loop.example.com/", wantErr: "redirect forever"},
		{args: "routes add x.example.com ftp://x.example.org/", wantErr: "http:// or https://"},
		{args: "routes add x.example.com https://x.example.org/ -status 200", wantErr: "301, 302, 307 or 308"},
		{args: "routes add onlyhost.example.com", wantErr: "wants HOST TARGET"},
		{args: "routes import " + csv, wantOut: "imported 2 of 2 routes"},
		{args: "routes import " + bad, wantErr: "line 2"},
		{args: "routes list", wantOut: "https://b.example.org/x   302"},
		{args: "routes rm old.example.com", wantOut: "removed old.example.com"},
		{args: "routes rm old.example.com", wantErr: "no such route"},
		{args: "routes rm other.example.com", wantErr: "no such route"}, // another org's
		{args: "routes frobnicate", wantErr: "usage"},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), strings.Fields(s.args), getenv, &stdout, &stderr)
		got := stdout.String()
		if s.wantErr != "" {
			if err == nil || !strings.Contains(err.Error()+stderr.String(), s.wantErr) {
				t.Errorf("%s: error %v (stderr %q), want one containing %q", s.args, err, stderr.String(), s.wantErr)
			}
			continue
		}
		if err != nil || !strings.Contains(got, s.wantOut) {
			t.Errorf("%s: %v, output %q, want %q", s.args, err, got, s.wantOut)
		}
	}

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"routes", "list"}, getenv, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"old.example.com", "c.example.com", "other.example.com"} {
		if strings.Contains(stdout.String(), gone) {
			t.Errorf("list shows %s, which should not be there:\n%s", gone, stdout.String())
		}
	}
}
