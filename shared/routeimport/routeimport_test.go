package routeimport_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/routeimport"
)

// memStore keeps routes in memory with the contract of reroute.RouteStore that
// an import relies on: rules versions (route_changed), the route and rule
// limits, one org per hostname. The API's tests run imports against DynamoDB.
type memStore struct {
	mu     sync.Mutex
	routes map[string]reroute.Route
	org    *reroute.Org
	writes []string
	// failOn makes the write of that host fail; raceOn changes its rules once,
	// as another writer would, just before the import's write.
	failOn, raceOn string
}

func newMemStore(org *reroute.Org, routes ...reroute.Route) *memStore {
	s := &memStore{routes: map[string]reroute.Route{}, org: org}
	for _, r := range routes {
		r.RuleCount = len(r.PathRules)
		s.routes[r.Host] = r
	}
	return s
}

func (s *memStore) GetRoute(_ context.Context, host string) (reroute.Route, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.routes[host]
	if !ok {
		return r, reroute.Errorf(reroute.CodeNotFound, "route_not_found", "no such route")
	}
	r.PathRules = slices.Clone(r.PathRules)
	return r, nil
}

func (s *memStore) CreateRoute(_ context.Context, r reroute.Route) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Host == s.failOn {
		return reroute.Errorf(reroute.CodeUnavailable, "store_unavailable", "the store is unavailable")
	}
	if _, ok := s.routes[r.Host]; ok {
		return reroute.Errorf(reroute.CodeConflict, "host_taken", "taken")
	}
	if s.org.RouteCount >= s.org.RouteLimit || len(r.PathRules) > s.org.RuleLimit {
		return reroute.Errorf(reroute.CodeLimit, "plan_limit_reached", "limit")
	}
	s.org.RouteCount++
	r.RuleCount, r.RulesVersion = len(r.PathRules), 1
	s.routes[r.Host] = r
	s.writes = append(s.writes, r.Host)
	return nil
}

func (s *memStore) UpdateRoute(_ context.Context, r reroute.Route, rules reroute.RulesUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.routes[r.Host]
	if !ok || cur.OrgID != r.OrgID {
		return reroute.Errorf(reroute.CodeNotFound, "route_not_found", "no such route")
	}
	if r.Host == s.failOn {
		return reroute.Errorf(reroute.CodeUnavailable, "store_unavailable", "the store is unavailable")
	}
	if r.Host == s.raceOn {
		s.raceOn = ""
		cur.PathRules = append(cur.PathRules, reroute.PathRule{Source: "/raced", Target: "https://raced.example.org/", Status: 301})
		cur.RulesVersion++
		s.routes[r.Host] = cur
	}
	if cur.RulesVersion != r.RulesVersion {
		return reroute.Errorf(reroute.CodeConflict, "route_changed", "the route changed")
	}
	if rules == reroute.KeepRules {
		r.PathRules = cur.PathRules
	} else {
		if len(r.PathRules) > s.org.RuleLimit {
			return reroute.Errorf(reroute.CodeLimit, "plan_limit_reached", "limit")
		}
		r.RulesVersion++
	}
	r.RuleCount = len(r.PathRules)
	s.routes[r.Host] = r
	s.writes = append(s.writes, r.Host)
	return nil
}

func (s *memStore) DeleteRoute(context.Context, string, string) error { return errors.New("unused") }

func (s *memStore) ListRoutes(context.Context, string, reroute.PageRequest) (reroute.Page[reroute.Route], error) {
	return reroute.Page[reroute.Route]{}, errors.New("unused")
}

const orgID = "org_a"

func newOrg(routeLimit, routeCount, ruleLimit int) *reroute.Org {
	return &reroute.Org{ID: orgID, Plan: "developer", RouteLimit: routeLimit, RouteCount: routeCount, RuleLimit: ruleLimit}
}

// existing is a stored route of the org with rules.
func existing(host string, opts reroute.PathOptions, rules ...reroute.PathRule) reroute.Route {
	return reroute.Route{Host: host, OrgID: orgID, Status: 301, Enabled: true, HTTPSRedirect: true,
		PathOptions: opts, PathRules: rules, RulesVersion: 1}
}

func rule(src, target string) reroute.PathRule {
	return reroute.PathRule{Source: src, Target: target, Status: 301}
}

func parse(t *testing.T, format, text string) routeimport.File {
	t.Helper()
	var f routeimport.File
	var err error
	if format == "json" {
		f, err = routeimport.ParseJSON(strings.NewReader(text))
	} else {
		f, err = routeimport.ParseCSV(strings.NewReader(text))
	}
	if err != nil {
		t.Fatalf("parsing: %v", err)
	}
	return f
}

// summary is what a result says, line by line: "2:create 3:error(target_url)".
func summary(res routeimport.Result) string {
	var parts []string
	for _, l := range res.Lines {
		s := fmt.Sprintf("%d:%s", l.Line, l.Action)
		if l.Action == routeimport.Failed && l.Field != "" {
			s += "(" + l.Field + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestImport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		org     *reroute.Org
		stored  []reroute.Route
		format  string
		file    string
		dryRun  bool
		want    string // summary(res)
		wantErr string // in the error; "" for none
		limit   bool   // the error is a plan limit
		writes  []string
	}{
		{name: "new route from rules", org: newOrg(10, 0, 100),
			file: "a.example.com/x,https://new.example.org/x\na.example.com/docs,https://new.example.org/help,308,,,TRUE,TRUE\n",
			want: "1:create 2:create", writes: []string{"a.example.com"}},
		{name: "rules merge into a route", org: newOrg(10, 1, 100),
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{}, rule("/old", "https://new.example.org/old"), rule("/x", "https://new.example.org/x"))},
			file:   "a.example.com/x,https://new.example.org/x\na.example.com/old,https://new.example.org/older\na.example.com/new,https://new.example.org/new\n",
			want:   "1:unchanged 2:update 3:create", writes: []string{"a.example.com"}},
		{name: "the same rules write nothing", org: newOrg(10, 1, 100),
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{}, rule("/x", "https://new.example.org/x"))},
			file:   "a.example.com/x,https://new.example.org/x\n",
			want:   "1:unchanged"},
		{name: "a whole-host line sets the target", org: newOrg(10, 0, 100),
			file: "a.example.com,https://new.example.org/,302,,,TRUE,TRUE\n",
			want: "1:create", writes: []string{"a.example.com"}},
		{name: "include subdomains makes two routes", org: newOrg(10, 0, 100),
			file: "a.example.com/x,https://new.example.org/x,,,TRUE\n",
			want: "1:create", writes: []string{"a.example.com", "*.a.example.com"}},
		{name: "the source key follows the route's options", org: newOrg(10, 1, 100),
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{IgnoreCase: true}, rule("/About", "https://new.example.org/about"))},
			file:   "a.example.com/about,https://new.example.org/about-us\n",
			want:   "1:update", writes: []string{"a.example.com"}},
		{name: "two lines with one source under the options", org: newOrg(10, 0, 100), format: "json",
			file: "{\"version\": 1, \"routes\": [\n{\"host\": \"a.example.com\", \"ignoreCase\": true, \"rules\": [\n{\"source\": \"/A\", \"target\": \"https://n.example.org/\"},\n{\"source\": \"/a\", \"target\": \"https://n.example.org/\"}]}]}\n",
			want: "2:create 3:create 4:error(source)", wantErr: "line 3 has a redirect from the same path"},
		{name: "json settings that differ are an update", org: newOrg(10, 1, 100), format: "json",
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{}, rule("/x", "https://new.example.org/x"))},
			file:   "{\"version\": 1, \"routes\": [\n{\"host\": \"a.example.com\", \"ignoreTrailingSlash\": true, \"fallback\": {\"kind\": \"gone\"}, \"rules\": [\n{\"source\": \"/x\", \"target\": \"https://new.example.org/x\"}]}]}\n",
			want:   "2:update 3:unchanged", writes: []string{"a.example.com"}},
		{name: "a target looping back is refused on its line", org: newOrg(10, 0, 100),
			file: "a.example.com/x,https://new.example.org/x\na.example.com/y,https://a.example.com/z\n",
			want: "1:create 2:error(target_url)", wantErr: "line 2: target_url"},
		{name: "an invalid fallback is refused on the route's line", org: newOrg(10, 0, 100), format: "json",
			file: "{\"version\": 1, \"routes\": [\n{\"host\": \"a.example.com\", \"target\": \"https://n.example.org/\", \"fallback\": {\"kind\": \"gone\"}}]}\n",
			want: "2:error(fallback.kind)", wantErr: "fallback would never be used"},
		{name: "routes beyond the plan", org: newOrg(2, 1, 100),
			file: "a.example.com/x,https://n.example.org/\nb.example.com/x,https://n.example.org/\na.example.com/y,https://n.example.org/\nb.example.com/y,https://n.example.org/\n",
			want: "1:create 2:error 3:create 4:error", wantErr: "allows 2 routes", limit: true},
		{name: "rules beyond the plan", org: newOrg(10, 1, 2),
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{}, rule("/x", "https://new.example.org/x"))},
			file:   "a.example.com/x,https://new.example.org/changed\na.example.com/y,https://n.example.org/\na.example.com/z,https://n.example.org/\n",
			want:   "1:update 2:create 3:error", wantErr: "allows 2 path rules per route", limit: true},
		{name: "a limit and an invalid line are both named", org: newOrg(10, 1, 1),
			stored: []reroute.Route{existing("a.example.com", reroute.PathOptions{}, rule("/x", "https://new.example.org/x"))},
			file:   "a.example.com/y,https://n.example.org/\nb.example.com/y,https://b.example.com/\n",
			want:   "1:error 2:error(target_url)", wantErr: "2 line(s) of the file are refused"},
		{name: "another account's hostname", org: newOrg(10, 0, 100),
			stored: []reroute.Route{{Host: "b.example.com", OrgID: "org_other", Target: "https://o.example.org/", Status: 301, Enabled: true}},
			file:   "a.example.com/x,https://n.example.org/\nb.example.com/x,https://n.example.org/\n",
			want:   "1:create 2:error", wantErr: "routed by another account"},
		{name: "lines the parser refuses are listed with the others", org: newOrg(10, 0, 100),
			file: "a.example.com/x,https://n.example.org/\nb.example.com/x\na.example.com/y,ftp://n.example.org/,399\n",
			want: "1:create 2:error(target_url) 3:error(target_url)", wantErr: "2 line(s) of the file are refused"},
		{name: "a dry run writes nothing", org: newOrg(10, 0, 100), dryRun: true,
			file: "a.example.com/x,https://n.example.org/\n", want: "1:create"},
		{name: "a dry run answers errors without failing", org: newOrg(1, 1, 100), dryRun: true,
			file: "a.example.com/x,https://n.example.org/\n", want: "1:error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore(tc.org, tc.stored...)
			d := routeimport.Deps{Store: store, Rules: reroute.Rules{ServiceHost: "redirect.dnsreroute.test"},
				NewDomain: func(string) reroute.Domain { return reroute.Domain{State: reroute.DomainPendingDNS} }, Now: time.Now}
			res, err := routeimport.Import(context.Background(), d, *tc.org, parse(t, tc.format, tc.file), tc.dryRun)
			if got := summary(res); got != tc.want {
				t.Errorf("lines: %s, want %s (%+v)", got, tc.want, res.Lines)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			case tc.wantErr != "":
				var ie *routeimport.Error
				if !errors.As(err, &ie) || ie.Limit != tc.limit {
					t.Errorf("error %#v: want a routeimport.Error with Limit %t", err, tc.limit)
				}
				wantCode := reroute.CodeInvalid
				if tc.limit {
					wantCode = reroute.CodeLimit
				}
				if reroute.ErrorCode(err) != wantCode {
					t.Errorf("code %s, want %s", reroute.ErrorCode(err), wantCode)
				}
			}
			slices.Sort(store.writes)
			slices.Sort(tc.writes)
			if !slices.Equal(store.writes, tc.writes) {
				t.Errorf("writes %v, want %v", store.writes, tc.writes)
			}
			if err == nil && !tc.dryRun {
				// Imported again, the same file is all unchanged and writes nothing.
				store.writes = nil
				org := *tc.org
				res, err := routeimport.Import(context.Background(), d, org, parse(t, tc.format, tc.file), false)
				if err != nil || res.Summary.Create+res.Summary.Update+res.Summary.Error > 0 || len(store.writes) > 0 {
					t.Errorf("the second import: %v, %+v, writes %v; want all unchanged", err, res.Summary, store.writes)
				}
			}
		})
	}
}

// The stored rules end up merged and sorted by source.
func TestImportMergesSorted(t *testing.T) {
	org := newOrg(10, 1, 100)
	store := newMemStore(org, existing("a.example.com", reroute.PathOptions{}, rule("/m", "https://n.example.org/m")))
	d := routeimport.Deps{Store: store}
	_, err := routeimport.Import(context.Background(), d, *org, parse(t, "csv", "a.example.com/z,https://n.example.org/z\na.example.com/a,https://n.example.org/a\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := store.GetRoute(context.Background(), "a.example.com")
	var got []string
	for _, pr := range r.PathRules {
		got = append(got, pr.Source)
	}
	if want := []string{"/a", "/m", "/z"}; !slices.Equal(got, want) {
		t.Errorf("rules %v, want %v", got, want)
	}
}

// A route whose rules another write changed meanwhile is read again and the
// file applied to it anew: neither write is lost.
func TestImportRetriesAChangedRoute(t *testing.T) {
	org := newOrg(10, 1, 100)
	store := newMemStore(org, existing("a.example.com", reroute.PathOptions{}, rule("/m", "https://n.example.org/m")))
	store.raceOn = "a.example.com"
	d := routeimport.Deps{Store: store}
	_, err := routeimport.Import(context.Background(), d, *org, parse(t, "csv", "a.example.com/z,https://n.example.org/z\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := store.GetRoute(context.Background(), "a.example.com")
	if len(r.PathRules) != 3 {
		t.Errorf("rules %+v, want /m, /raced and /z", r.PathRules)
	}
}

// A write failing midway says which routes were written, and that importing
// again is safe; importing again then finishes the job.
func TestImportWriteFailure(t *testing.T) {
	org := newOrg(10, 0, 100)
	store := newMemStore(org)
	store.failOn = "c.example.com"
	d := routeimport.Deps{Store: store, Workers: 1}
	file := "a.example.com/x,https://n.example.org/\nb.example.com/x,https://n.example.org/\nc.example.com/x,https://n.example.org/\n"
	res, err := routeimport.Import(context.Background(), d, *org, parse(t, "csv", file), false)
	var we *routeimport.WriteError
	if !errors.As(err, &we) || we.Host != "c.example.com" || !slices.Equal(we.Written, []string{"a.example.com", "b.example.com"}) {
		t.Fatalf("error %v (%+v), want c.example.com failing after a and b", err, we)
	}
	if !strings.Contains(err.Error(), "importing the same file again is safe") || reroute.ErrorCode(err) != reroute.CodeUnavailable {
		t.Errorf("error %q (%s), want the advice and the store's code", err, reroute.ErrorCode(err))
	}
	if !slices.Equal(res.Written, we.Written) {
		t.Errorf("result written %v", res.Written)
	}
	store.failOn = ""
	res, err = routeimport.Import(context.Background(), d, *store.org, parse(t, "csv", file), false)
	if err != nil || summary(res) != "1:unchanged 2:unchanged 3:create" {
		t.Errorf("again: %v, %s", err, summary(res))
	}
}
