package reroute

import (
	"context"
	"time"
)

// Rankings are the entries one bucket ranks, each value with its hits: request
// paths answered by a rule or target, paths answered with the not-configured page
// or a gone fallback, referrers' domains and viewers' country codes.
type Rankings struct {
	Paths         map[string]int64
	NotFoundPaths map[string]int64
	Referrers     map[string]int64
	Countries     map[string]int64
}

// AnalyticsBucket is what one log object adds to one host's hour or day. Bots
// and humans are ranked apart, so that a report can leave bots out of its
// rankings and still rank everyone when asked.
type AnalyticsBucket struct {
	// Host is the route's host (a wildcard route's pattern for the names it covers).
	Host        string
	Granularity string    // GranularityHour or GranularityDay
	Start       time.Time // UTC, the hour's or the day's start
	Counts
	// Answers by status class: Status[2] counts 2xx, and so on (0 and 1 unused).
	Status [6]int64
	Human  Rankings
	Bot    Rankings
	// ExpiresAt is when the bucket may be deleted: its end plus the retention of
	// the org's plan.
	ExpiresAt time.Time
}

// AnalyticsOwner is what counting a request host needs to know: the route that
// serves it and the plan of the org that owns that route.
type AnalyticsOwner struct {
	RouteHost string
	OrgID     string
	Plan      string
}

// AnalyticsWrite says what adding one log object's buckets did.
type AnalyticsWrite struct {
	// Parts is how many transactions the buckets took; Duplicates how many of
	// those had been applied before (a second delivery of the object) and so were
	// left alone.
	Parts, Duplicates int
}

// AnalyticsWriter keeps the counters the log aggregator adds to.
type AnalyticsWriter interface {
	// AnalyticsOwner finds the route serving a request host (the exact name, else
	// the longest wildcard that covers it); ok is false when none does.
	AnalyticsOwner(ctx context.Context, host string) (owner AnalyticsOwner, ok bool, err error)
	// AddAnalytics adds the buckets of the log object named source, exactly once
	// however often it is called with the same source and buckets.
	AddAnalytics(ctx context.Context, source string, buckets []AnalyticsBucket) (AnalyticsWrite, error)
}
