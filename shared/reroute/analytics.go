package reroute

import (
	"context"
	"time"
)

// Granularities of an analytics series.
const (
	GranularityHour = "hour"
	GranularityDay  = "day"
)

// Counts are what analytics counts for a host over some time. Hits counts every
// request answered for the host, bots included; Bots the requests a crawler list
// recognises; NotFound those answered with the not-configured page or a fallback
// ("lost traffic"); Edge those the CloudFront function answered from the
// KeyValueStore (the rest came from the origin or CloudFront's cache of it).
type Counts struct {
	Hits     int64
	Bots     int64
	NotFound int64
	Edge     int64
}

// Point is one bucket of a series: the hour or day starting at Start (UTC).
type Point struct {
	Start time.Time
	Counts
}

// Top is one entry of a ranking: a path, a referrer's domain or a country code.
type Top struct {
	Value string
	Hits  int64
}

// AnalyticsQuery asks for an org's numbers, or one of its hosts' (Host set),
// over [From, To) in buckets of Granularity.
type AnalyticsQuery struct {
	OrgID       string
	Host        string
	From, To    time.Time
	Granularity string
	// WithoutBots leaves bots out of the rankings (Totals and Series keep Bots
	// so that a chart can show both).
	WithoutBots bool
}

// AnalyticsReport answers an AnalyticsQuery. Rankings are the top entries, most
// hits first, at most MaxTop of each.
type AnalyticsReport struct {
	Totals           Counts
	Series           []Point
	TopPaths         []Top
	TopNotFoundPaths []Top
	TopReferrers     []Top
	TopCountries     []Top
}

// MaxTop bounds each ranking of a report.
const MaxTop = 20

// AnalyticsReader answers the API's questions from the counters.
type AnalyticsReader interface {
	Analytics(ctx context.Context, q AnalyticsQuery) (AnalyticsReport, error)
}
