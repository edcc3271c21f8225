package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// outboxTTL is how long an outbox item stays: the stream holds a record for 24
// hours, and the dispatcher has long read it by then; the rest is slack for an
// operator looking at what was sent.
const outboxTTL = 7 * 24 * time.Hour

// OutboxPrefix starts the PK of every outbox item: the dispatcher's event source
// mapping filters the stream on it (template.yaml says the same).
const OutboxPrefix = outboxPKOf

// outboxItem is an event as stored. The stream's new image carries these
// attributes to the dispatcher (see DecodeOutbox).
type outboxItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	ID        string `dynamodbav:"eventId"`
	Type      string `dynamodbav:"type"`
	OrgID     string `dynamodbav:"orgId"`
	Time      string `dynamodbav:"time"`
	Data      string `dynamodbav:"data"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// outboxPut is the Put of a transaction that records e with its change. Its
// condition holds unless an event of that id exists (ids are random: never, but a
// replayed transaction must not tell the change twice).
func (s *Store) outboxPut(e reroute.Event) (types.TransactWriteItem, error) {
	if e.ID == "" || e.OrgID == "" || !e.Type.Valid() && e.Type != reroute.EventWebhookTest {
		return types.TransactWriteItem{}, fmt.Errorf("recording an event: incomplete event %q of type %q", e.ID, e.Type)
	}
	k := outboxKey(e.ID)
	item, err := attributevalue.MarshalMap(outboxItem{
		PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: outboxSK,
		ID: e.ID, Type: string(e.Type), OrgID: e.OrgID, Time: formatTime(e.Time), Data: string(e.Data),
		ExpiresAt: e.Time.Add(outboxTTL).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding event %s: %w", e.ID, err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}, nil
}

// event is the outbox Put of a new event of type t about r, at now.
func (s *Store) routeEvent(t reroute.EventType, r reroute.Route) (types.TransactWriteItem, error) {
	e, err := reroute.RouteEvent(t, r, s.now())
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.outboxPut(e)
}

// RecordEvent stores e alone, for a change that is not itself a table write (a
// test event an org asks for). Changes of the table record their events in their
// own transaction instead.
func (s *Store) RecordEvent(ctx context.Context, e reroute.Event) error {
	put, err := s.outboxPut(e)
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.Put.TableName, Item: put.Put.Item, ConditionExpression: put.Put.ConditionExpression,
	}); err != nil {
		return unavailable(err)
	}
	return nil
}

// DecodeOutbox reads an event out of an outbox item's attributes (a stream
// record's new image, converted to the SDK's types); ok is false for any other
// item.
func DecodeOutbox(item map[string]types.AttributeValue) (e reroute.Event, ok bool, err error) {
	var it outboxItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return reroute.Event{}, false, fmt.Errorf("decoding an outbox item: %w", err)
	}
	if it.SK != outboxSK || len(it.PK) <= len(outboxPKOf) || it.PK[:len(outboxPKOf)] != outboxPKOf {
		return reroute.Event{}, false, nil
	}
	if it.ID == "" || it.OrgID == "" || it.Type == "" || !json.Valid([]byte(it.Data)) {
		return reroute.Event{}, false, fmt.Errorf("outbox item %s is incomplete", it.PK)
	}
	return reroute.Event{ID: it.ID, Type: reroute.EventType(it.Type), OrgID: it.OrgID, Time: parseTime(it.Time),
		Data: json.RawMessage(it.Data)}, true, nil
}

// ScanEvents lists the outbox items of orgID in time order, for tests and an
// operator: it scans the table (see Scanner), so it is not for a request path.
func ScanEvents(ctx context.Context, db Scanner, table, orgID string) ([]reroute.Event, error) {
	var out []reroute.Event
	var start map[string]types.AttributeValue
	for {
		page, err := db.Scan(ctx, &dynamodb.ScanInput{
			TableName: aws.String(table), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true),
			FilterExpression:          aws.String("begins_with(PK, :p) AND orgId = :o"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": avS(outboxPKOf), ":o": avS(orgID)},
		})
		if err != nil {
			return nil, unavailable(err)
		}
		for _, item := range page.Items {
			e, ok, err := DecodeOutbox(item)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, e)
			}
		}
		if start = page.LastEvaluatedKey; len(start) == 0 {
			break
		}
	}
	slices.SortStableFunc(out, func(a, b reroute.Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// updateTold runs upd and records events with it in one transaction (a plain
// UpdateItem when there are none). failed is true when upd's condition did not
// hold, and old is then the item as it stood (upd asks for it).
func (s *Store) updateTold(ctx context.Context, upd *types.Update, events ...types.TransactWriteItem) (old map[string]types.AttributeValue, failed bool, err error) {
	upd.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	if len(events) == 0 {
		err = retryConflicts(ctx, func() error {
			_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: upd.TableName, Key: upd.Key, UpdateExpression: upd.UpdateExpression,
				ConditionExpression: upd.ConditionExpression, ExpressionAttributeNames: upd.ExpressionAttributeNames,
				ExpressionAttributeValues:           upd.ExpressionAttributeValues,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				old = ccf.Item
			}
			return err
		})
	} else {
		err = s.transact(ctx, append([]types.TransactWriteItem{{Update: upd}}, events...)...)
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 {
			old = tce.CancellationReasons[0].Item
		}
	}
	if i, ok := conditionFailed(err); ok && i <= 0 {
		return old, true, nil
	}
	return nil, false, err
}
