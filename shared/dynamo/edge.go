package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Edge records (see keys.go) are written by the edge sync only. Their
// attributes share no name with a route's, so that the redirector's projected
// Query of a hostname's partition reads nothing of them but their key.
const (
	attrEdgeHost     = "edgeHost"
	attrEdgeSyncedAt = "edgeSyncedAt"
)

// edgeItem is an edge record as stored.
type edgeItem struct {
	PK         string   `dynamodbav:"PK"`
	SK         string   `dynamodbav:"SK"`
	Host       string   `dynamodbav:"edgeHost"`
	ServedFrom string   `dynamodbav:"edgeServedFrom"`
	Reason     string   `dynamodbav:"edgeReason,omitempty"`
	Records    int      `dynamodbav:"edgeRecords"`
	Bytes      int      `dynamodbav:"edgeBytes"`
	SyncedAt   string   `dynamodbav:"edgeSyncedAt"`
	Keys       []string `dynamodbav:"edgeKeys"`
	Digest     string   `dynamodbav:"edgeDigest,omitempty"`
}

func newEdgeItem(rec reroute.EdgeRecord) edgeItem {
	keys := rec.Keys
	if keys == nil {
		keys = []string{} // a list, never NULL
	}
	return edgeItem{
		PK: routePK(rec.Host), SK: edgeSK, Host: rec.Host,
		ServedFrom: rec.Status.ServedFrom, Reason: rec.Status.Reason,
		Records: rec.Status.Records, Bytes: rec.Status.Bytes,
		SyncedAt: formatTime(rec.Status.SyncedAt), Keys: keys, Digest: rec.Digest,
	}
}

func (it edgeItem) record() reroute.EdgeRecord {
	return reroute.EdgeRecord{
		Host: it.Host,
		Status: reroute.EdgeStatus{ServedFrom: it.ServedFrom, Reason: it.Reason,
			Records: it.Records, Bytes: it.Bytes, SyncedAt: parseTime(it.SyncedAt)},
		Keys: it.Keys, Digest: it.Digest,
	}
}

// decodeEdge reads a stored edge record; nil (none) or one that does not decode
// reads as the zero status: "not synced yet" is the truth the dashboard can show.
func decodeEdge(item map[string]types.AttributeValue) reroute.EdgeRecord {
	if item == nil {
		return reroute.EdgeRecord{}
	}
	var it edgeItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return reroute.EdgeRecord{}
	}
	return it.record()
}

// PutEdgeRecord stores rec as host's edge record, unless the one stored was
// written by a sync that started later (its SyncedAt is after rec's): syncs of
// one host may finish out of order, and the later one's record stands. That
// case is no error.
func (s *Store) PutEdgeRecord(ctx context.Context, rec reroute.EdgeRecord) error {
	if rec.Host == "" || rec.Status.SyncedAt.IsZero() {
		return fmt.Errorf("an edge record needs a host and a sync time")
	}
	item, err := attributevalue.MarshalMap(newEdgeItem(rec))
	if err != nil {
		return fmt.Errorf("encoding the edge record of %s: %w", rec.Host, err)
	}
	u := newUpdateExpr()
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(notNewer(u, rec.Status.SyncedAt)),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	})
	if _, failed := conditionFailed(err); failed {
		return nil
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteEdgeRecord deletes host's edge record (its route is gone and so are its
// keys), unless a sync that started after syncedAt wrote it since.
func (s *Store) DeleteEdgeRecord(ctx context.Context, host string, syncedAt time.Time) error {
	u := newUpdateExpr()
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       edgeKey(host),
		ConditionExpression:       aws.String(notNewer(u, syncedAt)),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	})
	if _, failed := conditionFailed(err); failed {
		return nil
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// notNewer is the condition that no edge record exists, or one written by a
// sync that started no later than t.
func notNewer(u *updateExpr, t time.Time) string {
	n := u.name(attrEdgeSyncedAt)
	return "attribute_not_exists(" + n + ") OR " + n + " <= " + u.value(":syncedAt", avS(formatTime(t)))
}

// EdgeRecords reads the edge records of hosts (consistently, 100 to a
// BatchGetItem); a host without one is missing from the map.
func (s *Store) EdgeRecords(ctx context.Context, hosts []string) (map[string]reroute.EdgeRecord, error) {
	items, err := s.batchGetEdge(ctx, hosts)
	if err != nil {
		return nil, err
	}
	out := make(map[string]reroute.EdgeRecord, len(items))
	for _, item := range items {
		if rec := decodeEdge(item); rec.Host != "" {
			out[rec.Host] = rec
		}
	}
	return out, nil
}

// batchGetEdge reads the edge items of hosts, whole.
func (s *Store) batchGetEdge(ctx context.Context, hosts []string) ([]map[string]types.AttributeValue, error) {
	return s.batchGetHosts(ctx, hosts, edgeKey)
}

// batchGetHosts reads the item keyOf names for each distinct host, consistently,
// 100 keys to a BatchGetItem, retrying the keys DynamoDB leaves unprocessed; a
// host without one is missing from the answer.
func (s *Store) batchGetHosts(ctx context.Context, hosts []string, keyOf func(string) map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	seen := make(map[string]bool, len(hosts))
	var keys []map[string]types.AttributeValue
	for _, h := range hosts {
		if h != "" && !seen[h] {
			seen[h] = true
			keys = append(keys, keyOf(h))
		}
	}
	for start := 0; start < len(keys); start += batchGetMax {
		req := map[string]types.KeysAndAttributes{s.table: {
			Keys: keys[start:min(start+batchGetMax, len(keys))], ConsistentRead: aws.Bool(true),
		}}
		backoff := 10 * time.Millisecond
		for attempt := 0; ; attempt++ {
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, unavailable(err)
			}
			items = append(items, out.Responses[s.table]...)
			left, ok := out.UnprocessedKeys[s.table]
			if !ok || len(left.Keys) == 0 {
				break
			}
			if attempt == maxUnprocessedRetries {
				return nil, unavailable(fmt.Errorf("%d keys still unprocessed after %d attempts", len(left.Keys), attempt+1))
			}
			if err := sleep(ctx, backoff); err != nil {
				return nil, unavailable(err)
			}
			backoff *= 2
			req = map[string]types.KeysAndAttributes{s.table: left}
		}
	}
	return items, nil
}

// fillEdge sets the Edge of each route from its edge record: one BatchGetItem
// per 100 routes.
func (s *Store) fillEdge(ctx context.Context, routes []reroute.Route) error {
	hosts := make([]string, len(routes))
	for i, r := range routes {
		hosts[i] = r.Host
	}
	recs, err := s.EdgeRecords(ctx, hosts)
	if err != nil {
		return err
	}
	for i := range routes {
		routes[i].Edge = recs[routes[i].Host].Status
	}
	return nil
}

// ScanStore is a Store that may also read the whole table, for the edge sync's
// full reconciliation; the service's other functions never scan, and are
// granted no dynamodb:Scan.
type ScanStore struct {
	*Store
	scanner Scanner
}

// WithScanner returns s with the scans of a full reconciliation.
func (s *Store) WithScanner(db Scanner) *ScanStore { return &ScanStore{Store: s, scanner: db} }

// EdgeInventory reads every live org, every route and every edge record with
// one Scan of the table (every page), filtered to those items and projected to
// what reconciliation needs.
func (s *ScanStore) EdgeInventory(ctx context.Context) (reroute.EdgeInventory, error) {
	in := &dynamodb.ScanInput{
		TableName:        aws.String(s.table),
		FilterExpression: aws.String("#sk IN (:org, :route, :edge)"),
		ExpressionAttributeNames: map[string]string{
			"#sk": attrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":org": avS(orgSK), ":route": avS(routeSK), ":edge": avS(edgeSK),
		},
		ConsistentRead: aws.Bool(true),
	}
	inv := reroute.EdgeInventory{Orgs: map[string]reroute.Org{}, Records: map[string]reroute.EdgeRecord{}}
	for {
		out, err := s.scanner.Scan(ctx, in)
		if err != nil {
			return reroute.EdgeInventory{}, unavailable(err)
		}
		for _, item := range out.Items {
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			pk, _ := item[attrPK].(*types.AttributeValueMemberS)
			if sk == nil || pk == nil {
				continue
			}
			switch sk.Value {
			case orgSK:
				if len(pk.Value) <= len(orgPrefix) || pk.Value[:len(orgPrefix)] != orgPrefix {
					continue // a Stripe customer's item has SK "ORG" too
				}
				var it orgItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return reroute.EdgeInventory{}, fmt.Errorf("decoding org %s: %w", pk.Value, err)
				}
				if !it.Deleting {
					inv.Orgs[it.ID] = it.org()
				}
			case routeSK:
				var it routeItem
				if err := attributevalue.UnmarshalMap(item, &it); err != nil {
					return reroute.EdgeInventory{}, fmt.Errorf("decoding route %s: %w", pk.Value, err)
				}
				inv.Routes = append(inv.Routes, reroute.EdgeRouteRef{Host: it.Host, OrgID: it.OrgID})
			case edgeSK:
				if rec := decodeEdge(item); rec.Host != "" {
					inv.Records[rec.Host] = rec
				}
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return inv, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
