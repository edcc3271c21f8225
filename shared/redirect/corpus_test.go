package redirect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/corpus"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

// TestCorpus runs the shared corpus through the resolver and the renderer, as
// both fronts answer.
func TestCorpus(t *testing.T) {
	c, err := corpus.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Cases) < 60 {
		t.Fatalf("the corpus has %d cases", len(c.Cases))
	}
	f := newMemFinder()
	routes, err := c.Models()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		f.put(r)
	}
	res := newResolver(f, newClock(), redirect.Config{})
	rd := redirect.NewRenderer(res.Config())
	names := map[string]bool{}
	for _, tc := range c.Cases {
		if names[tc.Name] {
			t.Errorf("two cases are named %q", tc.Name)
		}
		names[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			rq := tc.Request
			if rq.Scheme != "http" && rq.Scheme != "https" {
				t.Fatalf("scheme %q", rq.Scheme)
			}
			path, query, _ := strings.Cut(rq.Target, "?")
			got := rd.Render(res.Resolve(context.Background(), redirect.Request{Host: rq.Host, Path: path, Query: query, Secure: rq.Scheme == "https"}), "GET", path)
			want := tc.Expect
			wantLoc := ""
			if want.Location != nil {
				wantLoc = *want.Location
			}
			if got.Status != want.Status || got.Location != wantLoc {
				t.Errorf("%s://%s%s = %d %q, want %d %q", rq.Scheme, rq.Host, rq.Target, got.Status, got.Location, want.Status, wantLoc)
			}
			for name, v := range want.Headers {
				var have string
				switch strings.ToLower(name) {
				case "strict-transport-security":
					have = got.HSTS
				case "cache-control":
					have = got.CacheControl
				default:
					t.Fatalf("the corpus checks header %q, which this test does not know", name)
				}
				if v == nil && have != "" || v != nil && have != *v {
					t.Errorf("%s = %q, want %v", name, have, show(v))
				}
			}
		})
	}
}

func show(v *string) string {
	if v == nil {
		return "absent"
	}
	return "\"" + *v + "\""
}
