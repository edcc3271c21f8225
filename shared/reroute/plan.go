package reroute

import (
	"strconv"
	"time"
)

// Plan is what an org pays for and what it may use.
type Plan struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	RouteLimit  int    `json:"routeLimit"`
	MemberLimit int    `json:"memberLimit"`
	// RuleLimit bounds the path rules of each route (its whole-host target aside).
	RuleLimit int    `json:"ruleLimit"`
	Price     string `json:"price"`
	// Allows is what the plan permits beyond its counted limits: the API
	// enforces each field and the dashboard renders them from GET /v1/plans.
	Allows Allowances `json:"allows"`
	// AnalyticsRetention is how long an org's analytics counters are kept.
	AnalyticsRetention time.Duration `json:"-"`
	// StripePriceID is the Stripe price that bills the plan; "" for free plans.
	StripePriceID string `json:"-"`
}

// Paid reports whether the plan is billed.
func (p Plan) Paid() bool { return p.Name != PlanFree }

// Plan names.
const (
	PlanFree       = "free"
	PlanDeveloper  = "developer"
	PlanEnterprise = "enterprise"
)

// Catalog is the ordered list of plans the service offers.
type Catalog []Plan

// DefaultCatalog is the service's plans: the one place their limits are written.
func DefaultCatalog() Catalog {
	return Catalog{
		{Name: PlanFree, Title: "Free", RouteLimit: 1, MemberLimit: 1, RuleLimit: 25, Price: "$0",
			AnalyticsRetention: 7 * day, Allows: Allowances{WildcardRoutes: true, APIKeys: true}},
		{Name: PlanDeveloper, Title: "Developer", RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000, Price: "$10 / month", AnalyticsRetention: 90 * day,
			Allows: Allowances{WildcardRoutes: true, APIKeys: true, DestinationMonitoring: true}},
		{Name: PlanEnterprise, Title: "Enterprise", RouteLimit: 100, MemberLimit: 50, RuleLimit: 10000, Price: "$80 / month", AnalyticsRetention: 396 * day, // 13 months
			Allows: Allowances{WildcardRoutes: true, APIKeys: true, DestinationMonitoring: true}},
	}
}

const day = 24 * time.Hour

// Features are the plan's selling points, written from its limits and
// allowances only, so that what a plan is said to offer is what the API lets
// its orgs do.
func (p Plan) Features() []string {
	count := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return groupThousands(n) + " " + many
	}
	out := []string{
		count(p.RouteLimit, "route", "routes"),
		count(p.RuleLimit, "path rule per route", "path rules per route"),
	}
	if p.MemberLimit == 1 {
		out = append(out, "1 member")
	} else {
		out = append(out, "Up to "+count(p.MemberLimit, "member", "members"))
	}
	if d := int(p.AnalyticsRetention / day); d > 0 {
		if d%30 == 0 || d > 360 {
			out = append(out, "Analytics kept "+count((d+15)/30, "month", "months"))
		} else {
			out = append(out, "Analytics kept "+count(d, "day", "days"))
		}
	}
	if p.Allows.WildcardRoutes {
		out = append(out, "Wildcard routes")
	}
	if p.Allows.APIKeys {
		out = append(out, "API keys")
	}
	if p.Allows.DestinationMonitoring {
		out = append(out, "Destination monitoring")
	}
	return out
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Allowances are a plan's on/off capabilities.
type Allowances struct {
	// WildcardRoutes permits routes for "*.example.com".
	WildcardRoutes bool `json:"wildcardRoutes"`
	// APIKeys permits org API keys.
	APIKeys bool `json:"apiKeys"`
	// DestinationMonitoring probes the org's targets and reports broken ones.
	DestinationMonitoring bool `json:"destinationMonitoring"`
}

// WithStripePrices returns the catalogue with the Stripe price of each paid plan
// named in prices (plan name to price id), as the operator configured them.
func (c Catalog) WithStripePrices(prices map[string]string) Catalog {
	out := make(Catalog, len(c))
	for i, p := range c {
		if id, ok := prices[p.Name]; ok && p.Paid() {
			p.StripePriceID = id
		}
		out[i] = p
	}
	return out
}

// Get returns the plan called name.
func (c Catalog) Get(name string) (Plan, bool) {
	for _, p := range c {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}
