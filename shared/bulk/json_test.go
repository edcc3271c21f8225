package bulk_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestParseJSONFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/routes.json")
	if err != nil {
		t.Fatal(err)
	}
	routes, entries, err := bulk.ParseJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []bulk.Route{
		{Host: "example.com", Target: "https://new.example/", Status: 301, KeepPath: true,
			PathOptions: reroute.PathOptions{IgnoreCase: true}, Fallback: reroute.Fallback{Kind: reroute.FallbackGone},
			Rules: []reroute.PathRule{
				rule("/contact", "https://new.example/contact-us", 301, false, false, false),
				rule("/blog", "https://new.example/articles", 308, true, true, true),
			}, Line: 4},
		{Host: "*.example.org", PathOptions: reroute.PathOptions{IgnoreTrailingSlash: true},
			Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://example.net/", Status: 302},
			Rules:    []reroute.PathRule{rule("/docs", "https://docs.example.net/", 301, true, false, false)}, Line: 15},
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes =\n%+v\nwant\n%+v", routes, want)
	}
	wantEntries := []bulk.Entry{
		{Line: 4, Host: "example.com", Rule: rule("/", "https://new.example/", 301, true, true, false)},
		{Line: 11, Host: "example.com", Rule: rule("/contact", "https://new.example/contact-us", 301, false, false, false)},
		{Line: 12, Host: "example.com", Rule: rule("/blog", "https://new.example/articles", 308, true, true, true)},
		{Line: 20, Host: "*.example.org", Rule: rule("/docs", "https://docs.example.net/", 301, true, false, false)},
	}
	if !reflect.DeepEqual(entries, wantEntries) {
		t.Errorf("entries =\n%+v\nwant\n%+v", entries, wantEntries)
	}
	// Writing the routes and reading them back gives the same routes.
	var out bytes.Buffer
	if err := bulk.WriteJSON(&out, routes); err != nil {
		t.Fatal(err)
	}
	again, _, err := bulk.ParseJSON(&out)
	if err != nil {
		t.Fatalf("ParseJSON(WriteJSON) = %v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(withoutLines(again), withoutLines(routes)) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", again, routes)
	}
}

func withoutLines(routes []bulk.Route) []bulk.Route {
	out := make([]bulk.Route, len(routes))
	for i, r := range routes {
		r.Line = 0
		if len(r.Rules) == 0 {
			r.Rules = nil
		}
		out[i] = r
	}
	return out
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	type want struct {
		line  int
		field string
		has   string
	}
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"empty", "  ", []want{{1, "", "empty"}}},
		{"not an object", "[]", []want{{1, "", "one JSON object"}}},
		{"syntax", "{\n\"version\": 1,\n\"routes\": [}\n", []want{{3, "/routes/0", "not valid JSON"}}},
		{"truncated", "{\"version\": 1,\n\"routes\": [", []want{{2, "", "ends before"}}},
		{"trailing data", "{\"version\": 1} {}", []want{{1, "", "after its JSON object"}}},
		{"null", "{\"version\": 1,\n\"routes\": [{\"host\": null}]}", []want{{2, "/routes/0/host", "null"}}},
		{"duplicate name", "{\"version\": 1,\n\"version\": 1}", []want{{2, "/version", "more than once"}}},
		{"unknown member, case", "{\"version\": 1,\n \"Routes\": []}", []want{{2, "/Routes", `did you mean "routes"`}}},
		{"unknown member", "{\"version\": 1, \"routes\": [{\"host\": \"a.example\",\n \"paths\": []}]}", []want{{2, "/routes/0/paths", "unknown member"}}},
		{"wrong type", "{\"version\": 1, \"routes\": [{\"host\": \"a.example\",\n \"keepPath\": \"yes\"}]}", []want{{2, "/routes/0/keepPath", "true or false"}}},
		{"version missing", "{\"routes\": []}", []want{{1, "/version", "not 0"}}},
		{"version 2", "{\n\"version\": 2, \"routes\": []}", []want{{2, "/version", "not 2"}}},
		{"every invalid value", `{"version": 1, "routes": [
  {"host": "a_b.example", "target": "ftp://x", "status": 303},
  {"host": "b.example", "keepPath": true, "status": 301,
   "fallback": {"kind": "teapot"},
   "rules": [
     {"source": "nope", "target": "https://x.example/"},
     {"source": "/a", "target": "https://x.example/", "keepSuffix": true, "status": 200},
     {"source": "/%61", "target": "https://x.example/"},
     {"source": "/b"}
   ]},
  {"host": "B.example.", "target": "https://x.example/", "fallback": {"kind": "gone", "target": "https://x.example/"},
   "rules": [{"source": "/", "target": "https://y.example/", "subpath": true}]},
  {"host": "c.example", "fallback": {"kind": "redirect"}}
]}`, []want{
			{2, "/routes/0/host", "underscores"},
			{2, "/routes/0/target", "http"},
			{2, "/routes/0/status", "301, 302"},
			{3, "/routes/1/status", "give a target"},
			{3, "/routes/1/keepPath", "give a target"},
			{4, "/routes/1/fallback/kind", "not_configured"},
			{6, "/routes/1/rules/0/source", `starts with "/"`},
			{7, "/routes/1/rules/1/status", "301, 302"},
			{7, "/routes/1/rules/1/keepSuffix", "set subpath"},
			{8, "/routes/1/rules/2/source", "line 7 has this source"},
			{9, "/routes/1/rules/3/target", "required"},
			{11, "/routes/2/fallback/target", "only a redirect"},
			{11, "/routes/2/host", "line 3 is for b.example already"},
			{12, "/routes/2/rules/0", "whole-host target"},
			{13, "/routes/3/fallback/target", "required"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := bulk.ParseJSON(strings.NewReader(tt.in))
			var pe *bulk.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseJSON error = %v, want a *ParseError", err)
			}
			if len(pe.Errors) != len(tt.want) {
				t.Fatalf("errors =\n%v\nwant %d", strings.Join(errStrings(pe), "\n"), len(tt.want))
			}
			for i, w := range tt.want {
				if e := pe.Errors[i]; e.Line != w.line || e.Field != w.field || !strings.Contains(e.Reason, w.has) {
					t.Errorf("error %d = %+v, want line %d, field %q, reason with %q", i, e, w.line, w.field, w.has)
				}
			}
		})
	}
}

func errStrings(pe *bulk.ParseError) []string {
	var out []string
	for _, e := range pe.Errors {
		out = append(out, e.String())
	}
	return out
}
