package reroute

import "time"

// Where a route's redirects are answered.
const (
	// ServedAtEdge: the route is in the CloudFront KeyValueStore, and the
	// viewer-request function answers its redirects without the origin.
	ServedAtEdge = "edge"
	// ServedByOrigin: requests for the route go to the redirect function.
	ServedByOrigin = "origin"
)

// EdgeStatus says where a route is served from, as the edge sync last left it.
// The zero EdgeStatus means the sync has not seen the route yet: it is served
// by the origin meanwhile.
type EdgeStatus struct {
	ServedFrom string // ServedAtEdge or ServedByOrigin; "" before the first sync
	// Reason says why a route is served by the origin: "too_large" (its records
	// exceed the edge's per-route budget or the store's key and value limits),
	// "store_full" (routes of higher priority fill the store), "not_redirecting"
	// (switched off or paused: the origin shows the page), "edge_disabled" (the
	// deployment has no KeyValueStore).
	Reason   string
	Records  int // records the route has in the store
	Bytes    int // their keys' and values' bytes
	SyncedAt time.Time
}
