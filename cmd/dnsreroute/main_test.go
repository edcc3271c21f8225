package main

import (
	"bytes"
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

// createOrg makes an org on plan with owner as its first member, as the API does.
func createOrg(t *testing.T, store *dynamo.Store, id, name, plan, owner string) {
	t.Helper()
	p, ok := reroute.DefaultCatalog().Get(plan)
	if !ok {
		t.Fatalf("no plan %s", plan)
	}
	now := time.Now().UTC()
	err := store.CreateOrg(context.Background(),
		reroute.Org{ID: id, Name: name, Plan: p.Name, RouteLimit: p.RouteLimit, MemberLimit: p.MemberLimit, RuleLimit: p.RuleLimit, CreatedAt: now, UpdatedAt: now},
		reroute.Member{OrgID: id, Email: owner, Role: reroute.RoleOwner, OrgName: name, CreatedAt: now})
	if err != nil {
		t.Fatalf("creating org %s: %v", id, err)
	}
}

type step struct {
	args    string
	wantOut string
	wantErr string
	before  func() // run before the command
}

// runSteps runs each step's command through run, as a user types it.
func runSteps(t *testing.T, getenv func(string) string, steps []step) {
	t.Helper()
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
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
}

// The routes commands act on an org that exists, chosen by -org, by -user or as
// the only one, within its plan's limits, as the API does; tested through run
// against DynamoDB Local.
func TestRoutesCommands(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table}[k]
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "routes.csv")
	if err := os.WriteFile(csv, []byte("# Cloudflare Bulk Redirects: a subpath rule on / is the whole-host redirect\na.example.com,https://a.example.org/,,,,TRUE\nb.example.com, https://b.example.org/x,302,,,TRUE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("c.example.com,https://c.example.org/\nbad_host.com,https://x.example.org/\nd.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	runSteps(t, getenv, []step{
		{args: "table ensure", wantOut: "is ready"},
		{args: "routes list", wantErr: "has no org yet: sign in to the dashboard"},
		{args: "routes add old.example.com https://new.example.org/ -org org_one", wantErr: "no org org_one"},
		{args: "routes add Old.Example.com. https://new.example.org/ -keep-path", wantOut: `added old.example.com -> https://new.example.org/ (301) to org "One" (org_one)`,
			before: func() { createOrg(t, store, "org_one", "One", reroute.PlanDeveloper, "you@example.com") }},
		{args: "routes add old.example.com https://other.example.org/", wantErr: "already routed"},
		{args: "routes list", wantErr: "choose the org with -org ID:\n  org_",
			before: func() { createOrg(t, store, "org_two", "Two", reroute.PlanFree, "two@example.com") }},
		{args: "routes list -org org_nope", wantErr: "no org org_nope in table " + table + "; there are:\n  org_"},
		{args: "routes list -user nobody@example.com", wantErr: "nobody@example.com belongs to no org"},
		{args: "routes add other.example.com https://other.example.org/ -org org_two", wantOut: "added other.example.com"},
		{args: "routes add more.example.com https://other.example.org/ -user two@example.com", wantErr: "the free plan allows 1 route"},
		{args: "routes import " + csv + " -org org_two", wantErr: "nothing imported: 2 line(s) refused\n  line 2: plan limit: the free plan allows 1 routes"},
		{args: "routes import " + csv + " -org org_two -dry-run", wantErr: "2 line(s) would be refused"},
		{args: "routes import " + csv + " -user you@example.com -dry-run", wantOut: "would import (dry run, nothing written) 2 of 2 lines: 2 created"},
		{args: "routes add loop.example.com https://loop.example.com/ -org org_one", wantErr: "redirect forever"},
		{args: "routes add x.example.com ftp://x.example.org/ -org org_one", wantErr: "http:// or https://"},
		{args: "routes add x.example.com https://x.example.org/ -status 200 -org org_one", wantErr: "301, 302, 307 or 308"},
		{args: "routes add onlyhost.example.com -org org_one", wantErr: "wants HOST TARGET"},
		{args: "routes import " + csv + " -user you@example.com", wantOut: "imported 2 of 2 lines: 2 created, 0 updated, 0 unchanged; 2 route(s) created"},
		{args: "routes import " + csv + " -user you@example.com", wantOut: "imported 2 of 2 lines: 0 created, 0 updated, 2 unchanged; 0 route(s) created, 0 updated"},
		{args: "routes import " + bad + " -org org_one", wantErr: "line 2: source_url"},
		{args: "routes import " + bad + " -org org_one", wantErr: "line 3: target_url: a line needs a source URL and a target URL"},
		{args: "routes import " + csv + " -org org_one -format xml", wantErr: "-format is csv or json"},
		{args: "routes export -org org_one", wantOut: "b.example.com/,https://b.example.org/x,302,FALSE,FALSE,TRUE,FALSE\n"},
		{args: "routes export -org org_one -format json", wantOut: "\"host\": \"b.example.com\""},
		{args: "routes list -user you@example.com", wantOut: "https://b.example.org/x   302"},
		{args: "routes list -org org_one", wantOut: `org "One" (org_one): developer plan, 3 of 10 routes`},
		{args: "routes rm old.example.com -org org_one", wantOut: `removed old.example.com from org "One" (org_one)`},
		{args: "routes rm old.example.com -org org_one", wantErr: `org "One" (org_one) has no route old.example.com`},
		{args: "routes rm other.example.com -org org_one", wantErr: "has no route other.example.com"}, // another org's
		{args: "routes frobnicate", wantErr: "usage"},
	})

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"routes", "list", "-org", "org_one"}, getenv, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"old.example.com", "c.example.com", "other.example.com"} {
		if strings.Contains(stdout.String(), gone) {
			t.Errorf("list shows %s, which should not be there:\n%s", gone, stdout.String())
		}
	}

	// An export, in either format, imports back as all unchanged.
	for _, format := range []string{"csv", "json"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"routes", "export", "-org", "org_one", "-format", format}, getenv, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "export."+format)
		if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		runSteps(t, getenv, []step{{args: "routes import " + file + " -org org_one", wantOut: "0 created, 0 updated, 2 unchanged; 0 route(s) created, 0 updated"}})
	}
}

// Without -endpoint, the commands find the table in the file `dnsreroute dev`
// writes, and say what to do when there is none or it is stale.
func TestLocalCommandsFindTheStack(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	createOrg(t, dynamo.New(client, table), "org_one", "One", reroute.PlanFree, "you@example.com")
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	noEnv := func(string) string { return "" }
	dir := t.TempDir()
	write := func(name string, st devState) string {
		path := filepath.Join(dir, name)
		if _, err := writeDevState(path, st); err != nil {
			t.Fatal(err)
		}
		return path
	}
	running := write("running.json", devState{PID: 1, DynamoDBEndpoint: endpoint, Table: table, API: "http://127.0.0.1:18080"})
	gone := write("gone.json", devState{PID: 1, DynamoDBEndpoint: "http://127.0.0.1:1", Table: table})
	noTable := write("notable.json", devState{PID: 1, DynamoDBEndpoint: endpoint, Table: "no-such-table"})
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	runSteps(t, noEnv, []step{
		{args: "routes list -state " + running, wantOut: `org "One" (org_one): free plan, 0 of 1 routes`},
		{args: "routes add old.example.com https://new.example.org/ -state " + running, wantOut: "added old.example.com"},
		{args: "routes rm old.example.com -state " + running, wantOut: "removed old.example.com"},
		{args: "routes list -state " + filepath.Join(dir, "missing.json"), wantErr: "no local stack found: `make dev` writes " + filepath.Join(dir, "missing.json")},
		{args: "routes list -state " + filepath.Join(dir, "missing.json"), wantErr: "-endpoint http://HOST:PORT and -table NAME"},
		{args: "routes list -state " + filepath.Join(dir, "broken.json"), wantErr: "-endpoint"},
		{args: "routes list -state " + gone, wantErr: "http://127.0.0.1:1, which " + gone + " names, does not answer"},
		{args: "routes list -state " + gone, wantErr: "name another DynamoDB with -endpoint"},
		{args: "routes list -state " + noTable, wantErr: "has no table no-such-table"},
		{args: "routes list -endpoint http://127.0.0.1:1", wantErr: "DynamoDB at http://127.0.0.1:1 does not answer"},
		{args: "table ensure -state " + filepath.Join(dir, "missing.json"), wantErr: "-endpoint"},
	})

	// A state file is removed by the stack that wrote it, not by another's.
	path := filepath.Join(dir, "dev.json")
	remove, err := writeDevState(path, devState{PID: 1, DynamoDBEndpoint: endpoint, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writeDevState(path, devState{PID: 2, DynamoDBEndpoint: endpoint, Table: table}); err != nil {
		t.Fatal(err)
	}
	remove()
	if st, err := readDevState(path); err != nil || st.PID != 2 {
		t.Errorf("the second stack's file: %+v, %v; want it kept", st, err)
	}
}

// The operator's `orgs add` makes an org without members on a plan, whose limits
// the route commands then keep.
func TestOrgsAdd(t *testing.T) {
	_, table := dynamotest.NewTable(t)
	endpoint := os.Getenv(dynamotest.EndpointEnv)
	getenv := func(k string) string {
		return map[string]string{"DYNAMODB_ENDPOINT": endpoint, "TABLE_NAME": table}[k]
	}
	runSteps(t, getenv, []step{
		{args: "orgs add bench-1 -plan enterprise", wantOut: `added org "bench-1" (bench-1): enterprise plan, up to 100 routes`},
		{args: "orgs add bench-1", wantErr: "an org bench-1 exists already"},
		{args: "orgs add bench-2 -plan platinum", wantErr: `no plan "platinum"`},
		{args: "orgs add", wantErr: "wants ID"},
		{args: "orgs frobnicate", wantErr: "usage"},
		{args: "orgs add small -name Small", wantOut: `added org "Small" (small): free plan, up to 1 routes`},
		{args: "routes add a.example.com https://a.example.org/ -org small", wantOut: "added a.example.com"},
		{args: "routes add b.example.com https://b.example.org/ -org small", wantErr: "the free plan allows 1 route"},
		{args: "routes add b.example.com https://b.example.org/ -org bench-1", wantOut: "added b.example.com"},
		{args: "routes list -org bench-1", wantOut: "enterprise plan, 1 of 100 routes"},
	})
}
