package edgekvs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dnsreroute/dnsreroute/shared/corpus"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

const serviceHost = corpus.ServiceHost

// loadCorpus is the shared corpus's routes, as stored, and its cases.
func loadCorpus(t testing.TB) ([]reroute.Route, []corpus.Case) {
	t.Helper()
	c, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	routes, err := c.Models()
	if err != nil {
		t.Fatal(err)
	}
	return routes, c.Cases
}

// finder is the origin's store, in memory: exact host first, then the longest wildcard.
type finder map[string]reroute.Route

func (f finder) FindRoute(_ context.Context, host string) (reroute.Route, bool, error) {
	for _, c := range reroute.Candidates(host) {
		if r, ok := f[c]; ok {
			return r, true, nil
		}
	}
	return reroute.Route{}, false, nil
}

// request is one viewer request, as both sides see it.
type request struct {
	Method, Scheme, Host, Path, Query string
	HasQuery                          bool
}

func (rq request) String() string {
	s := rq.Method + " " + rq.Scheme + "://" + rq.Host + rq.Path
	if rq.HasQuery {
		s += "?" + rq.Query
	}
	return s
}

// answer is what a viewer gets, whoever gives it.
type answer struct {
	Status                       int
	Location, CacheControl, HSTS string
	ContentType, Allow, Body     string
}

// edge is the store, the function (one node process for all requests) and the
// origin behind it (the Go resolver), as a viewer meets them.
type edge struct {
	t        testing.TB
	dir      string
	resolver *redirect.Resolver
	renderer *redirect.Renderer
	stored   map[string]bool // route hosts at the edge
}

func newEdge(t testing.TB, routes []reroute.Route) *edge {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("the edge function runs under Node (20 or later): install node")
	}
	cfg := redirect.Config{ServiceHost: serviceHost}
	f := finder{}
	var cands []edgekvs.Candidate
	for _, r := range routes {
		f[r.Host] = r
		cands = append(cands, edgekvs.Candidate{Route: r})
	}
	res := redirect.NewResolver(f, cfg, time.Now, slog.New(slog.DiscardHandler))
	full := res.Config()
	ecfg := edgekvs.Config{PermanentMaxAge: full.PermanentMaxAge, NegativeTTL: full.NegativeTTL}
	recs := edgekvs.ConfigRecords(ecfg)
	e := &edge{t: t, dir: t.TempDir(), resolver: res, renderer: redirect.NewRenderer(full), stored: map[string]bool{}}
	for _, s := range edgekvs.Select(cands, edgekvs.Budget(ecfg, edgekvs.StoreBytes)) {
		recs = append(recs, s.Records...)
		e.stored[s.Host] = s.Edge.ServedFrom == reroute.ServedAtEdge
	}
	var b bytes.Buffer
	if err := edgekvs.WriteImportFile(&b, recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "kvs.json"), b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// origin is the Go redirector's answer.
func (e *edge) origin(rq request) answer {
	res := e.resolver.Resolve(context.Background(), redirect.Request{Host: rq.Host, Path: rq.Path, Query: rq.Query, Secure: rq.Scheme == "https"})
	r := e.renderer.Render(res, rq.Method, rq.Path)
	return answer{Status: r.Status, Location: r.Location, CacheControl: r.CacheControl, HSTS: r.HSTS, ContentType: r.ContentType, Body: r.Body()}
}

// cfEvent is a viewer-request event (functions-event-structure.html).
func cfEvent(rq request) map[string]any {
	req := map[string]any{
		"method": rq.Method, "uri": rq.Path, "querystring": map[string]any{}, "cookies": map[string]any{},
		"headers": map[string]any{"host": map[string]string{"value": rq.Host}, "cloudfront-forwarded-proto": map[string]string{"value": rq.Scheme}},
	}
	if rq.HasQuery {
		req["rawQueryString"] = rq.Query
	}
	return map[string]any{"version": "1.0", "context": map[string]any{"eventType": "viewer-request"}, "viewer": map[string]any{"ip": "198.51.100.7"}, "request": req}
}

// run sends every request through the emulator: for each, the function's
// response, or nil when it sent the request to the origin.
func (e *edge) run(rqs []request) []*answer {
	e.t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, rq := range rqs {
		if err := enc.Encode(cfEvent(rq)); err != nil {
			e.t.Fatal(err)
		}
	}
	var out, stderr bytes.Buffer
	cmd := exec.Command("node", "../../cloudfront/emulate.mjs", "--kvs", filepath.Join(e.dir, "kvs.json"), "--time")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, &out, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("emulator: %v\n%s", err, stderr.String())
	}
	e.t.Logf("function over %d requests (node, emulated store): %s", len(rqs), strings.TrimSpace(stderr.String()))
	var answers []*answer
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v struct {
			StatusCode int                               `json:"statusCode"`
			Headers    map[string]struct{ Value string } `json:"headers"`
			Body       *struct{ Data string }            `json:"body"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			e.t.Fatalf("emulator output %s: %v", sc.Bytes(), err)
		}
		if v.StatusCode == 0 {
			if got := v.Headers["x-forwarded-host"].Value; len(answers) < len(rqs) && got != strings.ToLower(rqs[len(answers)].Host) {
				e.t.Errorf("%s: forwarded with X-Forwarded-Host %q", rqs[len(answers)], got)
			}
			answers = append(answers, nil)
			continue
		}
		a := &answer{Status: v.StatusCode, Location: v.Headers["location"].Value, CacheControl: v.Headers["cache-control"].Value,
			HSTS: v.Headers["strict-transport-security"].Value, ContentType: v.Headers["content-type"].Value, Allow: v.Headers["allow"].Value}
		if v.Body != nil {
			a.Body = v.Body.Data
		}
		answers = append(answers, a)
	}
	if len(answers) != len(rqs) {
		e.t.Fatalf("%d answers for %d requests", len(answers), len(rqs))
	}
	return answers
}

// compare requires the function and the origin to agree: where the function
// answers, with the origin's answer; where it forwards, only for what the
// origin answers "not configured" (or a host only the origin can map), and for
// GET and HEAD only. Hosts at the edge never need the origin for a redirect, a
// 410 or an HTTPS upgrade: that is what keeps them answering without a region.
func (e *edge) compare(rqs []request) (atEdge int) {
	e.t.Helper()
	for i, got := range e.run(rqs) {
		rq := rqs[i]
		want := e.origin(rq)
		readOnly := rq.Method == "GET" || rq.Method == "HEAD"
		switch {
		case got == nil && !readOnly:
			e.t.Errorf("%s: forwarded to an origin that takes GET and HEAD only", rq)
		case got == nil && want.Status != 404 && (want.Status != 200 || reroute.LookupHost(rq.Host) != serviceHost) && isASCII(rq.Host):
			e.t.Errorf("%s: forwarded, but the origin answers %d %q: the edge must answer it", rq, want.Status, want.Location)
		case got == nil:
		case got.Status == 405:
			if readOnly || want.Status != 404 && want.Status != 200 || got.Allow != "GET, HEAD" || got.CacheControl != "no-store" {
				e.t.Errorf("%s: 405 (Allow %q, Cache-Control %q) where the origin answers %d", rq, got.Allow, got.CacheControl, want.Status)
			}
		case *got != want:
			e.t.Errorf("%s:\n edge   %+v\n origin %+v", rq, *got, want)
		default:
			atEdge++
		}
	}
	return atEdge
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func split(target string) (path, query string, has bool) {
	path, query, has = strings.Cut(target, "?")
	return path, query, has
}

// TestDifferentialCorpus runs the shared corpus, with every method, through the
// function (from the store Select fills) and through the Go redirector.
func TestDifferentialCorpus(t *testing.T) {
	routes, cases := loadCorpus(t)
	e := newEdge(t, routes)
	var rqs []request
	for _, c := range cases {
		path, query, has := split(c.Request.Target)
		for _, m := range []string{"GET", "HEAD", "POST", "DELETE"} {
			rqs = append(rqs, request{Method: m, Scheme: c.Request.Scheme, Host: c.Request.Host, Path: path, Query: query, HasQuery: has})
		}
	}
	n := e.compare(rqs)
	t.Logf("%d of %d requests answered at the edge, identically", n, len(rqs))
	if n < len(rqs)/2 {
		t.Errorf("only %d of %d requests answered at the edge", n, len(rqs))
	}
}

// TestRegionLoss: with no origin at all, every host in the store still gets its
// redirects: the function returns a response, never the request, for them.
func TestRegionLoss(t *testing.T) {
	routes, cases := loadCorpus(t)
	e := newEdge(t, routes)
	var rqs []request
	for _, c := range cases {
		path, query, has := split(c.Request.Target)
		rqs = append(rqs, request{Method: "GET", Scheme: c.Request.Scheme, Host: c.Request.Host, Path: path, Query: query, HasQuery: has})
	}
	answered := 0
	for i, got := range e.run(rqs) {
		want := e.origin(rqs[i])
		if want.Status == 404 || want.Status == 200 {
			continue // "not configured" is the origin's page
		}
		if got == nil {
			t.Errorf("%s needs the origin for its %d", rqs[i], want.Status)
			continue
		}
		answered++
	}
	if answered == 0 {
		t.Fatal("no request was answered without the origin")
	}
	t.Logf("%d redirects, upgrades and 410s answered with no origin", answered)
}

// TestDifferentialFuzz generates hosts, paths, queries and methods around the
// corpus routes and some random ones, and requires the function and the
// redirector to agree on each. Seeded: the same requests every run.
func TestDifferentialFuzz(t *testing.T) {
	routes, _ := loadCorpus(t)
	rng := rand.New(rand.NewPCG(13, 42))
	routes = append(routes, randomRoutes(t, rng, 30)...)
	e := newEdge(t, routes)
	var rqs []request
	for range 3000 {
		rqs = append(rqs, randomRequest(rng, routes))
	}
	n := e.compare(rqs)
	t.Logf("%d of %d generated requests answered at the edge, identically", n, len(rqs))
}

var (
	segments = []string{"a", "A", "docs", "Docs", "blog", "x", "caf%C3%A9", "café", "%7Ejo", "~jo", "a%2Fb", "a b", "%", "%4", "%zz", "#", "<x>", "&", "'", "\"", "", ".", "..", "é€😀", "%e2%82%ac"}
	queries  = []string{"", "a=1", "a=1&b=2", "q=a b", "x=%20&y=%", "é=1", "a", "&&", "<script>", "utm=1#x"}
	methods  = []string{"GET", "GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

func randomPath(rng *rand.Rand) string {
	var b strings.Builder
	for range rng.IntN(5) {
		b.WriteString("/")
		b.WriteString(segments[rng.IntN(len(segments))])
	}
	if b.Len() == 0 || rng.IntN(4) == 0 {
		b.WriteString("/")
	}
	return b.String()
}

func randomRoutes(t testing.TB, rng *rand.Rand, n int) []reroute.Route {
	var out []reroute.Route
	for i := range n {
		r := reroute.Route{Host: fmt.Sprintf("r%d.fuzz.example", i), Enabled: rng.IntN(8) > 0, Paused: rng.IntN(10) == 0,
			HTTPSRedirect: rng.IntN(2) == 0, HSTS: rng.IntN(2) == 0, KeepPath: rng.IntN(2) == 0, KeepQuery: rng.IntN(2) == 0,
			Status:      []int{301, 302, 307, 308}[rng.IntN(4)],
			PathOptions: reroute.PathOptions{IgnoreCase: rng.IntN(2) == 0, IgnoreTrailingSlash: rng.IntN(2) == 0}}
		if i%5 == 0 {
			r.Host = fmt.Sprintf("*.w%d.fuzz.example", i)
		}
		if rng.IntN(3) > 0 {
			r.Domain.State = reroute.DomainActive
		}
		targets := []string{"https://t.example", "https://t.example/", "https://t.example/base/", "https://t.example/p?x=1", "https://t.example/p?x=1#f", "https://t.example/a%20b/"}
		if rng.IntN(3) > 0 {
			r.Target = targets[rng.IntN(len(targets))]
		}
		seen := map[string]bool{}
		for range rng.IntN(8) {
			src := randomPath(rng)
			if strings.ContainsAny(src, "#") || strings.HasPrefix(src, "//") {
				continue
			}
			sub := rng.IntN(2) == 0
			norm, err := reroute.NormalizeSource(src)
			if err != nil {
				continue
			}
			if k := fmt.Sprint(sub, r.PathOptions.Key(norm)); seen[k] || sub && norm == "/" && r.Target != "" {
				continue
			} else {
				seen[k] = true
			}
			r.PathRules = append(r.PathRules, reroute.PathRule{Source: src, Target: targets[rng.IntN(len(targets))], Status: []int{301, 302, 307, 308}[rng.IntN(4)],
				Subpath: sub, KeepSuffix: sub && rng.IntN(2) == 0, KeepQuery: rng.IntN(2) == 0})
		}
		if r.Target == "" && len(r.PathRules) == 0 {
			r.Target = targets[0]
		}
		if r.Target == "" {
			switch rng.IntN(3) {
			case 1:
				r.Fallback = reroute.Fallback{Kind: reroute.FallbackGone}
			case 2:
				r.Fallback = reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://lost.example/", Status: 302}
			}
		}
		r.OrgID = "org_fuzz"
		if err := (reroute.Rules{ServiceHost: serviceHost}).Normalize(&r); err != nil {
			continue // a combination the API refuses
		}
		out = append(out, r)
	}
	if len(out) < n/2 {
		t.Fatalf("only %d of %d random routes are valid", len(out), n)
	}
	return out
}

func randomRequest(rng *rand.Rand, routes []reroute.Route) request {
	r := routes[rng.IntN(len(routes))]
	host := r.Host
	if reroute.IsWildcard(host) {
		host = []string{"a", "b.c", "x-1"}[rng.IntN(3)] + host[1:]
	}
	switch rng.IntN(8) {
	case 0:
		host = strings.ToUpper(host)
	case 1:
		host += ":443"
	case 2:
		host += "."
	case 3:
		host = "other" + host
	}
	path := randomPath(rng)
	if len(r.PathRules) > 0 && rng.IntN(2) == 0 {
		src := r.PathRules[rng.IntN(len(r.PathRules))].Source
		path = src + []string{"", "/", "/x", "x", "/A/b"}[rng.IntN(5)]
		if rng.IntN(3) == 0 {
			path = strings.ToUpper(path)
		}
	}
	q := queries[rng.IntN(len(queries))]
	return request{Method: methods[rng.IntN(len(methods))], Scheme: []string{"http", "https"}[rng.IntN(2)], Host: host, Path: path, Query: q, HasQuery: q != "" || rng.IntN(5) == 0}
}
