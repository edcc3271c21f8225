package bulk_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	current := []bulk.Route{
		{Host: "example.com", Target: "https://new.example/", KeepPath: true, // whole-host: status 0 is 301
			Rules: []reroute.PathRule{rule("/same", "https://new.example/same", 301, false, false, false),
				rule("/changed", "https://new.example/old", 301, false, false, false)}},
		{Host: "*.example.com", Rules: []reroute.PathRule{rule("/both", "https://new.example/both", 301, false, false, false)}},
	}
	file := `example.com/,https://new.example/,301,FALSE,FALSE,TRUE,TRUE
example.com/same,https://new.example/same
example.com/changed,https://new.example/new
example.com/new,https://new.example/new
example.com/both,https://new.example/both,,,TRUE
example.org/x,https://new.example/x,,,TRUE
example.com/same2,https://new.example/same2,,,TRUE
`
	entries, err := bulk.ParseCSV(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	got := bulk.Plan(entries, current)
	want := []bulk.Step{
		{Line: 1, Action: bulk.Unchanged, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Unchanged,
			Before: rule("/", "https://new.example/", 301, true, true, false)}}},
		{Line: 2, Action: bulk.Unchanged, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Unchanged,
			Before: rule("/same", "https://new.example/same", 301, false, false, false)}}},
		{Line: 3, Action: bulk.Update, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Update,
			Before: rule("/changed", "https://new.example/old", 301, false, false, false)}}},
		{Line: 4, Action: bulk.Create, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Create}}},
		{Line: 5, Action: bulk.Update, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Create},
			{Host: "*.example.com", Action: bulk.Unchanged, Before: rule("/both", "https://new.example/both", 301, false, false, false)}}},
		{Line: 6, Action: bulk.Create, Changes: []bulk.Change{{Host: "example.org", Action: bulk.Create, NewRoute: true},
			{Host: "*.example.org", Action: bulk.Create, NewRoute: true}}},
		{Line: 7, Action: bulk.Create, Changes: []bulk.Change{{Host: "example.com", Action: bulk.Create},
			{Host: "*.example.com", Action: bulk.Create}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Plan =\n%+v\nwant\n%+v", got, want)
	}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	entries, err := parseFile(t, "migration.csv")
	if err != nil {
		t.Fatal(err)
	}
	got := bulk.Group(entries)
	want := []bulk.Route{
		{Host: "shop.example.com", Target: "https://new.example/shop", Status: 308, KeepPath: true, KeepQuery: true,
			Rules: []reroute.PathRule{
				rule("/blog", "https://new.example/articles?from=blog,old", 301, true, true, false),
				rule("/caf%C3%A9", "https://new.example/cafe", 301, false, false, false),
				rule("/a,b", "https://new.example/ab", 307, false, false, false),
			}},
		{Host: "www.example.org", Target: "https://example.net/", Status: 302, KeepQuery: true},
		{Host: "*.www.example.org", Target: "https://example.net/", Status: 302, KeepQuery: true},
		{Host: "*.example.io", Rules: []reroute.PathRule{rule("/promo", "https://example.net/promo", 301, false, false, false)}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Group =\n%+v\nwant\n%+v", got, want)
	}
}
