package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func routeBody(host string) map[string]any {
	return map[string]any{"host": host, "target": "https://new.example.org/"}
}

// send is do with an Idempotency-Key (none for "") and, unlike do, safe to call
// from several goroutines: it returns the request and recorder unchecked.
func (e *apiEnv) send(method, path, token, key string, body any) (*http.Request, *httptest.ResponseRecorder) {
	buf, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return req, rec
}

// doKey sends one request with key and checks the answer against the document.
func (e *apiEnv) doKey(method, path, token, key string, body any) resp {
	e.t.Helper()
	req, rec := e.send(method, path, token, key, body)
	return e.checked(req, rec)
}

func (e *apiEnv) checked(req *http.Request, rec *httptest.ResponseRecorder) resp {
	e.t.Helper()
	out := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	e.checker.check(e.t, req.Method, req.URL.Path, rec.Code, rec.Header().Get("Content-Type"), out.body)
	if len(out.body) > 0 && out.body[0] == '{' {
		_ = json.Unmarshal(out.body, &out.json)
	}
	return out
}

func (e *apiEnv) hosts(org, token string) []string {
	e.t.Helper()
	r := e.do("GET", "/v1/orgs/"+org+"/routes", token, nil)
	e.want(r, 200, "")
	var out []string
	for _, it := range r.items() {
		out = append(out, it.(map[string]any)["host"].(string))
	}
	return out
}

func replayed(r resp) bool { return r.header.Get("Idempotent-Replayed") == "true" }

// failingRoutes fails its first CreateRoute calls with fail (an error or a
// panic), then creates routes as the store does.
type failingRoutes struct {
	reroute.RouteStore
	left  atomic.Int32
	panic bool
}

func (f *failingRoutes) CreateRoute(ctx context.Context, r reroute.Route) error {
	if f.left.Add(-1) >= 0 {
		if f.panic {
			panic("create route failed")
		}
		return &reroute.Error{Code: reroute.CodeUnavailable, Reason: "store_unavailable", Message: "the database is unavailable"}
	}
	return f.RouteStore.CreateRoute(ctx, r)
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	// Each case runs steps on a fresh API and org; a step's want is checked,
	// then the org's routes are compared with hosts.
	type step struct {
		key, host string
		advance   time.Duration // before the request
		status    int
		code      string
		replayed  bool
	}
	cases := []struct {
		name  string
		fail  int32 // CreateRoute calls that fail first
		panic bool  // and panic rather than answer 503
		steps []step
		hosts []string
	}{
		{name: "same key and body twice: one route, the first answer again",
			steps: []step{{key: "k1", host: "a.example.com", status: 201}, {key: "k1", host: "a.example.com", status: 201, replayed: true}},
			hosts: []string{"a.example.com"}},
		{name: "same key, another body: refused, nothing changed",
			steps: []step{{key: "k1", host: "a.example.com", status: 201}, {key: "k1", host: "b.example.com", status: 422, code: "idempotency_key_reused"}},
			hosts: []string{"a.example.com"}},
		{name: "different keys: two creations",
			steps: []step{{key: "k1", host: "a.example.com", status: 201}, {key: "k2", host: "b.example.com", status: 201}},
			hosts: []string{"a.example.com", "b.example.com"}},
		{name: "different keys, same body: the second runs (and finds the host taken)",
			steps: []step{{key: "k1", host: "a.example.com", status: 201}, {key: "k2", host: "a.example.com", status: 409, code: "host_taken"}},
			hosts: []string{"a.example.com"}},
		{name: "no key: every request runs",
			steps: []step{{host: "a.example.com", status: 201}, {host: "a.example.com", status: 409, code: "host_taken"}},
			hosts: []string{"a.example.com"}},
		{name: "a refusal is kept too",
			steps: []step{{key: "k1", host: "a.example.com", status: 201}, {key: "k2", host: "a.example.com", status: 409, code: "host_taken"},
				{key: "k2", host: "a.example.com", status: 409, code: "host_taken", replayed: true}},
			hosts: []string{"a.example.com"}},
		{name: "kept 24 h, then the key is new",
			steps: []step{{key: "k1", host: "a.example.com", status: 201},
				{key: "k1", host: "b.example.com", advance: 24*time.Hour - time.Second, status: 422, code: "idempotency_key_reused"},
				{key: "k1", host: "b.example.com", advance: 2 * time.Second, status: 201}},
			hosts: []string{"a.example.com", "b.example.com"}},
		{name: "a 5xx is not kept: the retry runs", fail: 1,
			steps: []step{{key: "k1", host: "a.example.com", status: 503, code: "store_unavailable"}, {key: "k1", host: "a.example.com", status: 201}},
			hosts: []string{"a.example.com"}},
		{name: "a panic lets the key go: the retry runs", fail: 1, panic: true,
			steps: []step{{key: "k1", host: "a.example.com"}, {key: "k1", host: "a.example.com", status: 201}},
			hosts: []string{"a.example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{t: time.Now()}
			e := newAPIEnvWith(t, func(d *httpapi.Deps) {
				d.Now = clk.Now
				f := &failingRoutes{RouteStore: d.Routes, panic: c.panic}
				f.left.Store(c.fail)
				d.Routes = f
			})
			tok := e.token("alice@example.com")
			org := e.newPaidOrg("alice@example.com", "developer")
			path := "/v1/orgs/" + org + "/routes"
			var first = map[string]resp{}
			for i, s := range c.steps {
				clk.Add(s.advance)
				if s.status == 0 { // the handler panics
					func() {
						defer func() {
							if recover() == nil {
								t.Fatalf("step %d: no panic", i)
							}
						}()
						e.send("POST", path, tok, s.key, routeBody(s.host))
					}()
					continue
				}
				r := e.doKey("POST", path, tok, s.key, routeBody(s.host))
				if r.status != s.status || s.code != "" && r.str("code") != s.code || replayed(r) != s.replayed {
					t.Fatalf("step %d: got %d %s (replayed %v), want %d %s (replayed %v)", i, r.status, r.body, replayed(r), s.status, s.code, s.replayed)
				}
				if s.replayed {
					f := first[s.key]
					if !bytes.Equal(r.body, f.body) || r.header.Get("Location") != f.header.Get("Location") || r.header.Get("Content-Type") != f.header.Get("Content-Type") {
						t.Errorf("step %d: replay %q (Location %q), first answer %q (Location %q)", i, r.body, r.header.Get("Location"), f.body, f.header.Get("Location"))
					}
				} else if _, ok := first[s.key]; !ok || s.status < 300 {
					first[s.key] = r
				}
			}
			if got := strings.Join(e.hosts(org, tok), ","); got != strings.Join(c.hosts, ",") {
				t.Errorf("routes %s, want %s", got, strings.Join(c.hosts, ","))
			}
		})
	}
}

// A key belongs to who sends it: another org's caller, or an API key, with the
// same key is another key.
func TestIdempotencyKeysAreScopedPerCaller(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	alice, bob := e.token("alice@example.com"), e.token("bob@example.com")
	orgA, orgB := e.newPaidOrg("alice@example.com", "developer"), e.newOrg("bob@example.com", "B")
	r := e.doKey("POST", "/v1/orgs/"+orgA+"/routes", alice, "shared-key", routeBody("a.example.com"))
	e.want(r, 201, "")
	r = e.doKey("POST", "/v1/orgs/"+orgB+"/routes", bob, "shared-key", routeBody("b.example.com"))
	e.want(r, 201, "")
	if replayed(r) {
		t.Error("bob got alice's answer")
	}
	k := e.do("POST", "/v1/orgs/"+orgA+"/api-keys", alice, map[string]any{"name": "ci", "scope": "write"})
	e.want(k, 201, "")
	r = e.doKey("POST", "/v1/orgs/"+orgA+"/routes", k.str("secret"), "shared-key", routeBody("c.example.com"))
	e.want(r, 201, "")
	if replayed(r) {
		t.Error("the org's API key got alice's answer")
	}
	if got := strings.Join(e.hosts(orgA, alice), ","); got != "a.example.com,c.example.com" {
		t.Errorf("org A routes %s", got)
	}
}

func TestIdempotencyKeyMustBeValid(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	path := "/v1/orgs/" + org + "/routes"
	for _, c := range []struct {
		name string
		keys []string
	}{
		{"empty", []string{""}},
		{"too long", []string{strings.Repeat("k", 256)}},
		{"not ASCII", []string{"clé"}},
		{"a control character", []string{"a\tb"}},
		{"given twice", []string{"k1", "k1"}},
	} {
		req := httptest.NewRequest("POST", path, strings.NewReader(`{"host":"a.example.com","target":"https://new.example.org/"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header["Idempotency-Key"] = c.keys
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		r := e.checked(req, rec)
		if r.status != 400 || r.str("code") != "invalid_idempotency_key" || !strings.Contains(r.str("detail"), "Idempotency-Key") {
			t.Errorf("%s: got %d %s, want 400 invalid_idempotency_key naming the header", c.name, r.status, r.body)
		}
	}
	if n := len(e.hosts(org, tok)); n != 0 {
		t.Errorf("%d routes created by refused requests", n)
	}
	// The longest key there may be is a key.
	e.want(e.doKey("POST", path, tok, strings.Repeat("k", 255), routeBody("a.example.com")), 201, "")
}

// Duplicates sent at once: exactly one runs; every other gets its answer or
// hears that it still runs.
func TestIdempotencyKeyConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tok := e.token("alice@example.com")
	org := e.newOrg("alice@example.com", "Acme")
	path := "/v1/orgs/" + org + "/routes"
	const n = 8
	type result struct {
		req *http.Request
		rec *httptest.ResponseRecorder
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, rec := e.send("POST", path, tok, "same-key", routeBody("a.example.com"))
			results[i] = result{req, rec}
		}()
	}
	close(start)
	wg.Wait()
	var ran, replays, inProgress int
	var firstBody []byte
	for _, res := range results {
		r := e.checked(res.req, res.rec)
		switch {
		case r.status == 201 && !replayed(r):
			ran++
			firstBody = r.body
		case r.status == 201:
			replays++
		case r.status == 409 && r.str("code") == "idempotency_in_progress" && r.header.Get("Retry-After") == "1":
			inProgress++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.body)
		}
	}
	if ran != 1 || ran+replays+inProgress != n {
		t.Fatalf("ran %d, replayed %d, in progress %d of %d", ran, replays, inProgress, n)
	}
	for _, res := range results {
		if res.rec.Header().Get("Idempotent-Replayed") == "true" && !bytes.Equal(res.rec.Body.Bytes(), firstBody) {
			t.Errorf("a replay differs from the answer: %s vs %s", res.rec.Body.Bytes(), firstBody)
		}
	}
	if got := e.hosts(org, tok); len(got) != 1 {
		t.Errorf("routes %v, want one", got)
	}
	t.Logf("ran 1, replayed %d, in progress %d", replays, inProgress)
}

// The browser may send the header: the preflight allows it.
func TestIdempotencyKeyCORS(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	req := httptest.NewRequest("OPTIONS", "/v1/orgs", nil)
	req.Header.Set("Origin", dashboard)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
		t.Errorf("preflight allows %q", rec.Header().Get("Access-Control-Allow-Headers"))
	}
}
