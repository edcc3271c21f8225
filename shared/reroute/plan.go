package reroute

import "time"

// Plan is what an org pays for and what it may use.
type Plan struct {
	Name        string `json:"name"`
	Title       string `json:"title"`
	RouteLimit  int    `json:"routeLimit"`
	MemberLimit int    `json:"memberLimit"`
	// RuleLimit bounds the path rules of each route (its whole-host target aside).
	RuleLimit int      `json:"ruleLimit"`
	Price     string   `json:"price"`
	Features  []string `json:"features"`
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
			AnalyticsRetention: 7 * day, Allows: Allowances{WildcardRoutes: true, APIKeys: true},
			Features: []string{"1 route", "25 path rules", "HTTPS redirects", "301, 302, 307 and 308"}},
		{Name: PlanDeveloper, Title: "Developer", RouteLimit: 10, MemberLimit: 5, RuleLimit: 1000, Price: "$10 / month", AnalyticsRetention: 90 * day,
			Allows:   Allowances{WildcardRoutes: true, APIKeys: true, DestinationMonitoring: true},
			Features: []string{"10 routes", "1,000 path rules per route", "CSV import and export", "Wildcard routes", "Up to 5 members", "API keys"}},
		{Name: PlanEnterprise, Title: "Enterprise", RouteLimit: 100, MemberLimit: 50, RuleLimit: 10000, Price: "$80 / month", AnalyticsRetention: 396 * day, // 13 months
			Allows:   Allowances{WildcardRoutes: true, APIKeys: true, DestinationMonitoring: true},
			Features: []string{"100 routes", "10,000 path rules per route", "CSV import and export", "Wildcard routes", "Up to 50 members", "API keys", "Priority support"}},
	}
}

const day = 24 * time.Hour

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
