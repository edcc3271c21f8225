package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck/dnstest"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// readmeWait bounds each wait for the stack: generous, for a busy machine.
const readmeWait = 2 * time.Minute

// TestReadmeWalkthrough runs `dnsreroute dev` on ports of its own and follows the
// README's "Try it" and local billing steps as a newcomer types them, each
// checked against what the README says it answers: the API walkthrough, the local
// routes commands (which find the stack by its state file and act on the org just
// made, within its plan), and the sample Stripe event upgrading two orgs, one of
// them twice.
func TestReadmeWalkthrough(t *testing.T) {
	client, table := dynamotest.NewTable(t)
	dir := t.TempDir()
	state := filepath.Join(dir, defaultStateFile)
	dnsServer := dnstest.Start(t) // hostnames the test never sets do not exist
	getenv := func(k string) string {
		return map[string]string{"DNS_SERVERS": dnsServer.Addr, "LOG_LEVEL": "error"}[k]
	}
	dev := startDev(t, table, dir, getenv)
	st := dev.devState
	api, redir := st.API, st.Redirector
	local := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(args, "-state", state), func(string) string { return "" }, &stdout, &stderr)
		if err != nil {
			err = errors.Join(err, errors.New(stderr.String()))
		}
		return stdout.String(), err
	}
	mustLocal := func(want string, args ...string) {
		t.Helper()
		if out, err := local(args...); err != nil || !strings.Contains(out, want) {
			t.Fatalf("dnsreroute %s: %v, output %q; want %q", strings.Join(args, " "), err, out, want)
		}
	}

	// Try it: sign in, create an org, add a route, list, follow the redirect.
	token := signIn(t, api, "you@example.com")
	org := createOrgAPI(t, api, token, "Black Lantern Studio")
	call(t, http.MethodPost, api+"/v1/orgs/"+org+"/routes", token,
		`{"host":"old.example.com","target":"https://new.example.org/","keepPath":true,"keepQuery":true}`, 201, `"host":"old.example.com"`)
	call(t, http.MethodGet, api+"/v1/orgs/"+org+"/routes", token, "", 200, `"host":"old.example.com"`)
	waitRedirect(t, redir, "old.example.com", "/some/path?x=1", 301, "https://new.example.org/some/path?x=1")
	// The redirector logged it, and the stack counts it within seconds.
	waitCounted(t, dynamo.New(client, table), org, "old.example.com", "/some/path")
	call(t, http.MethodPost, api+"/v1/orgs/"+org+"/routes", token, `{"host":"second.example.com","target":"https://new.example.org/"}`,
		403, `"detail":"the free plan allows 1 route: upgrade to add more"`)

	// The local command, on the same stack and org, without flags.
	mustLocal("old.example.com", "routes", "list")
	mustLocal("removed old.example.com", "routes", "rm", "old.example.com")
	mustLocal("added *.old.example.com -> https://new.example.org/blog/ (302)", "routes", "add", "*.old.example.com", "https://new.example.org/blog/", "-status", "302")
	if out, err := local("routes", "add", "new.example.com", "https://new.example.org/"); err == nil || !strings.Contains(err.Error(), "the free plan allows 1 route") {
		t.Errorf("a second route from the command line: %v, %q; want the free plan's limit", err, out)
	}
	waitRedirect(t, redir, "www.old.example.com", "/", 302, "https://new.example.org/blog/")
	waitRedirect(t, redir, "nobody.example.com", "/", 404, "")
	waitRedirect(t, redir, "localhost", "/healthz", 200, "")

	// Billing without a Stripe account: the sample event upgrades the org.
	event := sampleStripeEvent(t)
	call(t, http.MethodPost, api+"/dev/stripe-events?org="+org, "", event, 200, `{"received":true,"result":"applied"}`)
	billing := call(t, http.MethodGet, api+"/v1/orgs/"+org+"/billing", token, "", 200,
		`"plan":"developer","status":"active"`, `"usage":{"routes":1,"routeLimit":10,`, `"cancelAtPeriodEnd":false`)
	var b struct{ CurrentPeriodEnd time.Time }
	if err := json.Unmarshal([]byte(billing), &b); err != nil || !b.CurrentPeriodEnd.After(time.Now().Add(27*24*time.Hour)) {
		t.Errorf("the period ends %v (%v), want a month from now", b.CurrentPeriodEnd, err)
	}
	csv := filepath.Join(dir, "routes.csv")
	if err := os.WriteFile(csv, []byte("a.example.com,https://a.example.org/,,,,TRUE\nb.example.com,https://b.example.org/,308,,,TRUE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustLocal("imported 2 of 2 lines: 2 created, 0 updated, 0 unchanged; 2 route(s) created, 0 updated", "routes", "import", csv)
	// Sent again, it is a new event, applied again; another user's org is upgraded
	// by the same file.
	call(t, http.MethodPost, api+"/dev/stripe-events?org="+org, "", event, 200, `"result":"applied"`)
	token2 := signIn(t, api, "someone@example.com")
	org2 := createOrgAPI(t, api, token2, "Second Studio")
	call(t, http.MethodPost, api+"/dev/stripe-events?org="+org2, "", event, 200, `"result":"applied"`)
	call(t, http.MethodGet, api+"/v1/orgs/"+org2+"/billing", token2, "", 200, `"plan":"developer","status":"active"`)
	// Now two orgs: the command asks which.
	if _, err := local("routes", "list"); err == nil || !strings.Contains(err.Error(), "choose the org with -org ID") ||
		!strings.Contains(err.Error(), org) || !strings.Contains(err.Error(), org2) {
		t.Errorf("routes list with two orgs: %v; want both listed", err)
	}
	mustLocal("a.example.com", "routes", "list", "-user", "you@example.com")
	mustLocal("0 of 10 routes", "routes", "list", "-org", org2)

	if err := dev.stop(); err != nil {
		t.Errorf("dnsreroute dev ended with %v", err)
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the state file outlived the stack: %v", err)
	}
}

// devStack is `dnsreroute dev` running inside a test, on ports of its own.
type devStack struct {
	devState
	out  *lockedBuffer // what it logged
	stop func() error  // stops it and waits: what run returned
}

// startDev runs `dnsreroute dev` on table, with its state file and folders in
// dir (plus extra flags), and waits until its state file says where it
// listens. The test's cleanup stops it if the test has not.
func startDev(t *testing.T, table, dir string, getenv func(string) string, extra ...string) *devStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	args := append([]string{"dev", "-dynamodb-endpoint", os.Getenv(dynamotest.EndpointEnv), "-table", table,
		"-api-addr", freeAddr(t), "-redirect-addr", freeAddr(t), "-state", filepath.Join(dir, defaultStateFile),
		"-web", filepath.Join(dir, "no-dist"), "-access-log", filepath.Join(dir, "access.log")}, extra...)
	go func() { done <- run(ctx, args, getenv, out, out) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(readmeWait):
				stopErr = fmt.Errorf("dnsreroute dev did not stop within %v", readmeWait)
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	for deadline := time.Now().Add(readmeWait); ; time.Sleep(100 * time.Millisecond) {
		st, err := readDevState(filepath.Join(dir, defaultStateFile))
		if err == nil {
			return &devStack{devState: st, out: out, stop: stop}
		}
		select {
		case err := <-done:
			t.Fatalf("dnsreroute dev ended: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no state file after %v: %v\n%s", readmeWait, err, out.String())
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freeAddr is a loopback address no one listened on a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// call sends a request and checks its status and that the body holds each of want.
func call(t *testing.T, method, url, token, body string, status int, want ...string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c := &http.Client{Timeout: readmeWait}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("%s %s: %d %s, want %d", method, url, res.StatusCode, b, status)
	}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s %s: %s lacks %s", method, url, b, w)
		}
	}
	return string(b)
}

func signIn(t *testing.T, api, email string) string {
	t.Helper()
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(call(t, http.MethodPost, api+"/dev/token", "", `{"email":"`+email+`"}`, 200)), &tok); err != nil || tok.Token == "" {
		t.Fatalf("no token: %v", err)
	}
	return tok.Token
}

func createOrgAPI(t *testing.T, api, token, name string) string {
	t.Helper()
	var org struct{ ID string }
	if err := json.Unmarshal([]byte(call(t, http.MethodPost, api+"/v1/orgs", token, `{"name":"`+name+`"}`, 201)), &org); err != nil || org.ID == "" {
		t.Fatalf("no org id: %v", err)
	}
	return org.ID
}

// waitRedirect asks the redirector for path on host until it answers status (and
// location): the local stack caches answers for a second.
func waitRedirect(t *testing.T, base, host, path string, status int, location string) {
	t.Helper()
	c := &http.Client{Timeout: readmeWait, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var got string
	for deadline := time.Now().Add(readmeWait); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		res, err := c.Do(req)
		if err != nil {
			got = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == status && res.Header.Get("Location") == location {
			return
		}
		got = res.Status + " " + res.Header.Get("Location")
	}
	t.Fatalf("Host %s%s: %s, want %d %s", host, path, got, status, location)
}

// sampleStripeEvent is the README's `jq -r .body events/stripe-subscription-updated.json`.
func sampleStripeEvent(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "stripe-subscription-updated.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Body string }
	if err := json.Unmarshal(raw, &env); err != nil || env.Body == "" {
		t.Fatalf("no body in the sample event: %v", err)
	}
	return env.Body
}

// waitCounted waits until the analytics of host count a request for path.
func waitCounted(t *testing.T, store *dynamo.Store, org, host, path string) {
	t.Helper()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	var last reroute.AnalyticsReport
	for deadline := time.Now().Add(readmeWait); ; time.Sleep(200 * time.Millisecond) {
		r, err := store.Analytics(context.Background(), reroute.AnalyticsQuery{OrgID: org, Host: host,
			From: day.Add(-24 * time.Hour), To: day.Add(48 * time.Hour), Granularity: reroute.GranularityDay})
		if err == nil && r.Totals.Hits > 0 {
			for _, p := range r.TopPaths {
				if p.Value == path {
					return
				}
			}
		}
		last = r
		if time.Now().After(deadline) {
			t.Fatalf("%s%s not counted within %v: %+v (%v)", host, path, readmeWait, last, err)
		}
	}
}
