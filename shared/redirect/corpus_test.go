package redirect_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// corpusFile is the shared corpus of path-rule redirects, written for any
// implementation of the same semantics; its schema is in the README beside it.
const corpusFile = "../../testdata/redirects/corpus.json"

type corpus struct {
	Description string        `json:"description"`
	Routes      []corpusRoute `json:"routes"`
	Cases       []corpusCase  `json:"cases"`
}

type corpusRoute struct {
	Host          string `json:"host"`
	Target        string `json:"target"`
	Status        int    `json:"status"`
	KeepPath      bool   `json:"keepPath"`
	KeepQuery     bool   `json:"keepQuery"`
	Enabled       *bool  `json:"enabled"` // absent: true
	Paused        bool   `json:"paused"`
	HTTPSRedirect bool   `json:"httpsRedirect"`
	HSTS          bool   `json:"hsts"`
	DomainActive  bool   `json:"domainActive"`
	PathOptions   struct {
		IgnoreCase          bool `json:"ignoreCase"`
		IgnoreTrailingSlash bool `json:"ignoreTrailingSlash"`
	} `json:"pathOptions"`
	Rules []struct {
		Source     string `json:"source"`
		Target     string `json:"target"`
		Status     int    `json:"status"`
		Subpath    bool   `json:"subpath"`
		KeepSuffix bool   `json:"keepSuffix"`
		KeepQuery  bool   `json:"keepQuery"`
	} `json:"rules"`
	Fallback struct {
		Kind   string `json:"kind"`
		Target string `json:"target"`
		Status int    `json:"status"`
	} `json:"fallback"`
}

type corpusCase struct {
	Name    string `json:"name"`
	Request struct {
		Scheme string `json:"scheme"`
		Host   string `json:"host"`
		Target string `json:"target"`
	} `json:"request"`
	Expect struct {
		Status   int                `json:"status"`
		Location *string            `json:"location"`
		Headers  map[string]*string `json:"headers"`
	} `json:"expect"`
}

// model is what the corpus route says, validated as the API would before saving it.
func (cr corpusRoute) model(t *testing.T) reroute.Route {
	t.Helper()
	r := reroute.Route{
		Host: cr.Host, OrgID: "org_corpus", Target: cr.Target, Status: cr.Status, KeepPath: cr.KeepPath, KeepQuery: cr.KeepQuery,
		Enabled: cr.Enabled == nil || *cr.Enabled, Paused: cr.Paused, HTTPSRedirect: cr.HTTPSRedirect, HSTS: cr.HSTS,
		PathOptions: reroute.PathOptions{IgnoreCase: cr.PathOptions.IgnoreCase, IgnoreTrailingSlash: cr.PathOptions.IgnoreTrailingSlash},
		Fallback:    reroute.Fallback{Kind: reroute.FallbackKind(cr.Fallback.Kind), Target: cr.Fallback.Target, Status: cr.Fallback.Status},
	}
	if cr.DomainActive {
		r.Domain.State = reroute.DomainActive
	}
	for _, pr := range cr.Rules {
		r.PathRules = append(r.PathRules, reroute.PathRule{Source: pr.Source, Target: pr.Target, Status: pr.Status,
			Subpath: pr.Subpath, KeepSuffix: pr.KeepSuffix, KeepQuery: pr.KeepQuery})
	}
	if err := (reroute.Rules{ServiceHost: "redirect.dnsreroute.test"}).Normalize(&r); err != nil {
		t.Fatalf("corpus route %s is not valid: %v", cr.Host, err)
	}
	return r
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	raw, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields() // a field this implementation ignores would pass silently
	var c corpus
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", corpusFile, err)
	}
	return c
}

// TestCorpus runs the shared corpus through the resolver and the renderer, as
// both fronts answer.
func TestCorpus(t *testing.T) {
	c := loadCorpus(t)
	if len(c.Cases) < 60 {
		t.Fatalf("the corpus has %d cases", len(c.Cases))
	}
	f := newMemFinder()
	for _, cr := range c.Routes {
		f.put(cr.model(t))
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
