package edgesync

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
)

// Keys and attributes the stream handler reads. They are the table's (see
// shared/dynamo/keys.go); the event source mapping's filter in template.yaml
// names the same.
const (
	attrPK = "PK"
	attrSK = "SK"
	// edgeRecordSK is the edge record's own SK: the sync writes it, and must
	// not hear of it again.
	edgeRecordSK = "ROUTE#EDGE"
	orgItemSK    = "ORG"
	orgPKPrefix  = "ORG#"
)

// orgPauseAttrs are the org attributes that decide which of its routes are
// paused, and so which are at the edge.
var orgPauseAttrs = []string{"plan", "routeLimit", "pausedFrom", "deleting"}

// HandleStream syncs the hosts a batch of the table's stream touched: a change
// in a hostname's partition (its route, rule chunks, release) syncs that host;
// a change of what pauses an org's routes syncs them all. Every host is synced
// once per batch, whatever number of records name it. A host that fails is
// reported as a batch item failure at the first record naming it, so Lambda
// retries from there and the shard moves on past what succeeded.
func (s *Syncer) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	first := map[string]string{} // host or "org:"+id -> sequence number of its first record
	var hosts, orgs []string
	for _, r := range ev.Records {
		pk, sk := str(r.Change.Keys[attrPK]), str(r.Change.Keys[attrSK])
		seq := r.Change.SequenceNumber
		if host, ok := hostOfPK(pk); ok && host != "" && sk != edgeRecordSK {
			if _, seen := first[host]; !seen {
				first[host] = seq
				hosts = append(hosts, host)
			}
			continue
		}
		if org, ok := cutPrefix(pk, orgPKPrefix); ok && sk == orgItemSK && pauseChanged(r) {
			if _, seen := first["org:"+org]; !seen {
				first["org:"+org] = seq
				orgs = append(orgs, org)
			}
		}
	}
	var resp events.DynamoDBEventResponse
	fail := func(key string) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: first[key]})
	}
	// An org's hosts fail with it: its record is retried, and them with it.
	orgHosts := map[string]string{}
	for _, org := range orgs {
		hs, err := s.orgHosts(ctx, org)
		if err != nil {
			s.log.ErrorContext(ctx, "edge sync: listing an org's routes failed", "org", org, "err", err)
			fail("org:" + org)
			continue
		}
		for _, h := range hs {
			if _, ok := first[h]; !ok {
				orgHosts[h] = org
			}
			hosts = append(hosts, h)
		}
	}
	failed, err := s.SyncHosts(ctx, hosts)
	if err != nil {
		// Nothing was published: the whole batch again.
		s.log.ErrorContext(ctx, "edge sync failed", "hosts", len(hosts), "err", err)
		resp.BatchItemFailures = nil
		for _, r := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: r.Change.SequenceNumber})
			break // the first is enough: Lambda retries from the lowest
		}
		return resp, nil
	}
	for _, f := range failed {
		s.log.ErrorContext(ctx, "edge sync: a host failed", "host", f.Host, "err", f.Err)
		if org, ok := orgHosts[f.Host]; ok {
			fail("org:" + org)
		} else {
			fail(f.Host)
		}
	}
	s.log.InfoContext(ctx, "edge sync", "records", len(ev.Records), "hosts", len(uniq(hosts)), "orgs", len(orgs), "failed", len(failed))
	return resp, nil
}

// pauseChanged reports whether an org item's change may pause or resume its
// routes: it was removed, or one of orgPauseAttrs differs between the images.
// A new org has no routes yet.
func pauseChanged(r events.DynamoDBEventRecord) bool {
	switch r.EventName {
	case "INSERT":
		return false
	case "REMOVE":
		return true
	}
	for _, a := range orgPauseAttrs {
		o, oldOK := r.Change.OldImage[a]
		n, newOK := r.Change.NewImage[a]
		if oldOK != newOK || oldOK && !sameValue(o, n) {
			return true
		}
	}
	return false
}

// sameValue compares the scalar values orgPauseAttrs hold (S, N, BOOL).
func sameValue(a, b events.DynamoDBAttributeValue) bool {
	if a.DataType() != b.DataType() {
		return false
	}
	switch a.DataType() {
	case events.DataTypeString:
		return a.String() == b.String()
	case events.DataTypeNumber:
		return a.Number() == b.Number()
	case events.DataTypeBoolean:
		return a.Boolean() == b.Boolean()
	case events.DataTypeNull:
		return true
	}
	return false // another type: treat as changed, a sync too many costs little
}

// str is a string attribute's value, "" for any other (the accessors panic).
func str(av events.DynamoDBAttributeValue) string {
	if av.DataType() != events.DataTypeString {
		return ""
	}
	return av.String()
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}
