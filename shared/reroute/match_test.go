package reroute_test

import (
	"testing"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// TestMatcherAnswer covers what Answer adds to Match: which rule answered, and
// the fallback's three answers. Matching itself is held to the shared corpus
// through the redirector (shared/redirect's corpus test).
func TestMatcherAnswer(t *testing.T) {
	t.Parallel()
	rules := []reroute.PathRule{
		{Source: "/a", Target: "https://new.example/a", Status: 301},
		{Source: "/docs", Target: "https://new.example/help", Status: 308, Subpath: true, KeepSuffix: true},
	}
	tests := []struct {
		name  string
		route reroute.Route
		path  string
		want  reroute.Answer
	}{
		{"exact rule", reroute.Route{PathRules: rules}, "/a",
			reroute.Answer{Kind: reroute.FallbackRedirect, Status: 301, Location: "https://new.example/a", Rule: 0}},
		{"subpath rule keeps the suffix", reroute.Route{PathRules: rules}, "/docs/x",
			reroute.Answer{Kind: reroute.FallbackRedirect, Status: 308, Location: "https://new.example/help/x", Rule: 1}},
		{"the target beneath the rules", reroute.Route{Target: "https://new.example/", Status: 302, PathRules: rules}, "/other",
			reroute.Answer{Kind: reroute.FallbackRedirect, Status: 302, Location: "https://new.example/", Rule: reroute.TargetRule}},
		{"not configured", reroute.Route{PathRules: rules}, "/other",
			reroute.Answer{Kind: reroute.FallbackNotConfigured, Status: 404, Rule: reroute.FallbackRule, Fallback: true}},
		{"gone", reroute.Route{PathRules: rules, Fallback: reroute.Fallback{Kind: reroute.FallbackGone}}, "/other",
			reroute.Answer{Kind: reroute.FallbackGone, Status: 410, Rule: reroute.FallbackRule, Fallback: true}},
		{"fallback redirect", reroute.Route{PathRules: rules, Fallback: reroute.Fallback{Kind: reroute.FallbackRedirect, Target: "https://new.example/lost", Status: 307}}, "/other",
			reroute.Answer{Kind: reroute.FallbackRedirect, Status: 307, Location: "https://new.example/lost", Rule: reroute.FallbackRule, Fallback: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := reroute.NewMatcher(tt.route)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Answer(tt.path, ""); got != tt.want {
				t.Fatalf("Answer(%q) = %+v, want %+v", tt.path, got, tt.want)
			}
		})
	}
	if _, err := reroute.NewMatcher(reroute.Route{}); err == nil {
		t.Fatal("a route with neither target nor rules compiled")
	}
}
