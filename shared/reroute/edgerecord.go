package reroute

// EdgeRecord is what the edge sync keeps of a hostname: where its route is
// served from, and the KeyValueStore keys it published for it, so that a later
// sync deletes the keys the route no longer needs (the route's rules changed,
// or the route went) without listing the whole store. The store keeps it beside
// the route, and fills Route.Edge from it.
type EdgeRecord struct {
	Host   string
	Status EdgeStatus
	// Keys are the keys published for Host, the host record's first.
	Keys []string
	// Digest identifies the records published (keys and values): a sync that
	// would publish the same again writes nothing.
	Digest string
}

// EdgeInventory is what a full reconciliation of the edge reads of the store:
// every live org, every route (without its rules: the sync reads each in full),
// and every edge record, orphans included.
type EdgeInventory struct {
	Orgs    map[string]Org // live orgs, by id
	Routes  []EdgeRouteRef
	Records map[string]EdgeRecord // by host
}

// EdgeRouteRef names a stored route.
type EdgeRouteRef struct {
	Host, OrgID string
}
