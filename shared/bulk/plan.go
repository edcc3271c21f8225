package bulk

import "github.com/dnsreroute/dnsreroute/shared/reroute"

// Action is what importing a line does.
type Action string

const (
	// Create adds a rule (and the route, if the host has none yet).
	Create Action = "create"
	// Update replaces a rule with the same source whose target, status or
	// options differ.
	Update Action = "update"
	// Unchanged: the route has that rule already, identical.
	Unchanged Action = "unchanged"
)

// Change is what a line does to one route.
type Change struct {
	Host   string
	Action Action
	// NewRoute is set when no route exists for Host: importing creates one,
	// counted against the plan's route limit.
	NewRoute bool
	// Before is the rule replaced, with Update.
	Before reroute.PathRule
}

// Step is what importing one line does: Action sums up its Changes (two with
// IncludeSubdomains): Create when each creates, Unchanged when each is
// unchanged, Update otherwise.
type Step struct {
	Line    int
	Action  Action
	Changes []Change
}

// Plan compares entries with the routes that exist (every route of the org, in
// any order) and says, line by line, what importing them would do. An import
// adds and replaces rules, never removes one, so importing a file twice, or an
// export, plans only Unchanged steps. A rule is known by its host and source
// path; a route's whole-host redirect is its subpath rule on "/".
func Plan(entries []Entry, current []Route) []Step {
	existing := make(map[string]int, len(current))
	for i, r := range current {
		existing[r.Host] = i
	}
	// The rules of each route a line touches, by source, built on first use.
	rules := map[string]map[string]reroute.PathRule{}
	steps := make([]Step, 0, len(entries))
	for _, e := range entries {
		step := Step{Line: e.Line}
		creates, same := 0, 0
		for _, host := range e.Hosts() {
			c := Change{Host: host, Action: Create}
			i, ok := existing[host]
			if !ok {
				c.NewRoute = true
			} else {
				byHost, ok := rules[host]
				if !ok {
					byHost = map[string]reroute.PathRule{}
					for _, rule := range current[i].PathRules() {
						byHost[rule.Source] = canonicalRule(rule)
					}
					rules[host] = byHost
				}
				if before, ok := byHost[e.Rule.Source]; ok {
					c.Action, c.Before = Update, before
					if before == canonicalRule(e.Rule) {
						c.Action = Unchanged
					}
				}
			}
			switch c.Action {
			case Create:
				creates++
			case Unchanged:
				same++
			}
			step.Changes = append(step.Changes, c)
		}
		switch len(step.Changes) {
		case creates:
			step.Action = Create
		case same:
			step.Action = Unchanged
		default:
			step.Action = Update
		}
		steps = append(steps, step)
	}
	return steps
}

// canonicalRule is a rule as it compares: a zero status is the default, and a
// suffix is kept only by a subpath rule.
func canonicalRule(r reroute.PathRule) reroute.PathRule {
	if r.Status == 0 {
		r.Status = reroute.DefaultStatus
	}
	r.KeepSuffix = r.KeepSuffix && r.Subpath
	return r
}
