// Package corpus loads the shared corpus of redirect cases
// (testdata/redirects/corpus.json, its schema in the README beside it) for the Go
// implementations held to it: the redirector, and the edge function through its
// differential test. Other languages read the JSON file itself.
package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// ServiceHost is the service's own hostname in the corpus's cases.
const ServiceHost = "redirect.dnsreroute.test"

// Corpus is the file's content.
type Corpus struct {
	Description string  `json:"description"`
	Routes      []Route `json:"routes"`
	Cases       []Case  `json:"cases"`
}

// Route is a route as the corpus writes it.
type Route struct {
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

// Case is one request and the answer it must get.
type Case struct {
	Name    string `json:"name"`
	Request struct {
		Scheme string `json:"scheme"`
		Host   string `json:"host"`
		Target string `json:"target"` // path and query, as on the request line
	} `json:"request"`
	Expect struct {
		Status   int                `json:"status"`
		Location *string            `json:"location"`
		Headers  map[string]*string `json:"headers"`
	} `json:"expect"`
}

// Path is where the corpus file is, found from this source file so that any
// package's test can load it.
func Path() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "testdata", "redirects", "corpus.json")
}

// Load reads the corpus, refusing members it does not know: a field an
// implementation ignored would pass silently.
func Load() (Corpus, error) {
	raw, err := os.ReadFile(Path())
	if err != nil {
		return Corpus{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Corpus
	if err := dec.Decode(&c); err != nil {
		return Corpus{}, fmt.Errorf("%s: %w", Path(), err)
	}
	return c, nil
}

// Model is the route as the service stores it, validated as the API validates a
// route before saving it.
func (cr Route) Model() (reroute.Route, error) {
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
	if err := (reroute.Rules{ServiceHost: ServiceHost}).Normalize(&r); err != nil {
		return reroute.Route{}, fmt.Errorf("corpus route %s is not valid: %w", cr.Host, err)
	}
	return r, nil
}

// Models is every route of the corpus, as Model makes it.
func (c Corpus) Models() ([]reroute.Route, error) {
	out := make([]reroute.Route, 0, len(c.Routes))
	for _, cr := range c.Routes {
		r, err := cr.Model()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
