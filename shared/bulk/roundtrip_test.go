package bulk_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/quick"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// pair is one rule of one route: what both formats must carry.
type pair struct {
	host string
	rule reroute.PathRule
}

// pairs lists every (host, rule) of entries, sorted.
func entryPairs(entries []bulk.Entry) []pair {
	var out []pair
	for _, e := range entries {
		for _, h := range e.Hosts() {
			out = append(out, pair{h, e.Rule})
		}
	}
	return sortPairs(out)
}

func routePairs(routes []bulk.Route) []pair {
	var out []pair
	for _, r := range routes {
		for _, rule := range r.PathRules() {
			out = append(out, pair{r.Host, rule})
		}
	}
	return sortPairs(out)
}

func sortPairs(p []pair) []pair {
	slices.SortFunc(p, func(a, b pair) int {
		return strings.Compare(a.host+" "+a.rule.Source, b.host+" "+b.rule.Source)
	})
	return p
}

// randomRoutes builds valid routes: exact hosts and wildcards (some with the
// same rules as their base, which CSV folds into INCLUDE_SUBDOMAINS lines).
type randomRoutes []bulk.Route

func (randomRoutes) Generate(r *rand.Rand, size int) reflect.Value {
	statuses := []int{301, 302, 307, 308}
	paths := []string{"/", "/a", "/a/b", "/docs/", "/caf%C3%A9", "/x,y", "/q%22uote", "/~u", "/%2F"}
	targets := []string{"https://new.example/", "https://new.example/a?b=c,d", "http://x.example:8080/p", "https://y.example/#frag"}
	var out randomRoutes
	for i := range r.Intn(size%8 + 1) {
		host := fmt.Sprintf("h%d.example.com", i)
		rt := bulk.Route{Host: host, PathOptions: reroute.PathOptions{IgnoreCase: r.Intn(2) == 0}}
		if r.Intn(2) == 0 {
			rt.Target, rt.Status, rt.KeepPath, rt.KeepQuery = targets[r.Intn(len(targets))], statuses[r.Intn(4)], r.Intn(2) == 0, r.Intn(2) == 0
		}
		for _, p := range paths {
			if r.Intn(3) == 0 || rt.Target != "" && p == "/" {
				continue
			}
			sub := r.Intn(2) == 0
			rt.Rules = append(rt.Rules, reroute.PathRule{Source: p, Target: targets[r.Intn(len(targets))], Status: statuses[r.Intn(4)],
				Subpath: sub, KeepSuffix: sub && r.Intn(2) == 0, KeepQuery: r.Intn(2) == 0})
		}
		out = append(out, rt)
		if r.Intn(3) == 0 {
			wild := rt
			wild.Host = "*." + host
			wild.Rules = slices.Clone(rt.Rules)
			if len(wild.Rules) > 0 && r.Intn(2) == 0 {
				wild.Rules[0].Target = "https://other.example/"
			}
			out = append(out, wild)
		}
	}
	return reflect.ValueOf(out)
}

// Every rule of the routes written as CSV comes back from ParseCSV, and nothing
// else; the JSON format gives back the very routes.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	property := func(routes randomRoutes) bool {
		var csvOut bytes.Buffer
		if err := bulk.WriteCSV(&csvOut, routes); err != nil {
			t.Fatal(err)
		}
		entries, err := bulk.ParseCSV(bytes.NewReader(csvOut.Bytes()))
		if err != nil {
			t.Logf("ParseCSV(WriteCSV) = %v\n%s", err, csvOut.String())
			return false
		}
		if got, want := entryPairs(entries), routePairs(routes); !reflect.DeepEqual(got, want) {
			t.Logf("CSV round trip:\n%+v\nwant\n%+v\n%s", got, want, csvOut.String())
			return false
		}
		if got, want := routePairs(bulk.Group(entries)), routePairs(routes); !reflect.DeepEqual(got, want) {
			t.Logf("Group:\n%+v\nwant\n%+v", got, want)
			return false
		}
		for _, s := range bulk.Plan(entries, routes) {
			if s.Action != bulk.Unchanged {
				t.Logf("importing the export plans %+v", s)
				return false
			}
		}
		var jsonOut bytes.Buffer
		if err := bulk.WriteJSON(&jsonOut, routes); err != nil {
			t.Fatal(err)
		}
		back, jsonEntries, err := bulk.ParseJSON(&jsonOut)
		if err != nil {
			t.Logf("ParseJSON(WriteJSON) = %v\n%s", err, jsonOut.String())
			return false
		}
		if !reflect.DeepEqual(withoutLines(back), withoutLines(routes)) {
			t.Logf("JSON round trip:\n%+v\nwant\n%+v", back, routes)
			return false
		}
		return reflect.DeepEqual(entryPairs(jsonEntries), routePairs(routes))
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 300}); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseCSV: parsing never panics, and whatever is accepted writes back to a
// file that parses to the same rules.
func FuzzParseCSV(f *testing.F) {
	for _, name := range []string{"cloudflare-example.csv", "migration.csv", "errors.csv"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("example.com/a,https://example.net/,,,TRUE,TRUE,TRUE\n*.example.org/%7e,https://example.net/\n"))
	f.Add([]byte("\"ex\"\"ample.com/a\",https://example.net/\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := bulk.ParseCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := bulk.WriteCSV(&out, bulk.Group(entries)); err != nil {
			t.Fatal(err)
		}
		again, err := bulk.ParseCSV(&out)
		if err != nil {
			t.Fatalf("the export of an accepted file is refused: %v\n%s", err, out.String())
		}
		if got, want := entryPairs(again), entryPairs(entries); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\n%+v\nwant\n%+v", got, want)
		}
	})
}
