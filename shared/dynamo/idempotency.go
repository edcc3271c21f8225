package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var _ reroute.IdempotencyStore = (*Store)(nil)

// idempotencyItem is one idempotency key: the attempt that claimed it and, once
// that attempt is done, its answer.
type idempotencyItem struct {
	PK          string            `dynamodbav:"PK"`
	SK          string            `dynamodbav:"SK"`
	Fingerprint string            `dynamodbav:"fingerprint"`
	Claim       string            `dynamodbav:"claim"`
	Done        bool              `dynamodbav:"done"`
	Status      int               `dynamodbav:"status,omitempty"`
	Header      map[string]string `dynamodbav:"header,omitempty"`
	Body        []byte            `dynamodbav:"body,omitempty"`
	ExpiresAt   int64             `dynamodbav:"expiresAt"` // TTL; also read by the conditions, as TTL deletes late
}

const (
	attrClaim = "claim"
	attrDone  = "done"
)

// ClaimIdempotencyKey puts a claim on the key with one conditional write: it
// succeeds when no item holds the key or the one there has expired (TTL deletes
// expired items only eventually); otherwise the write returns the item in the
// way, which is the answer, so a retry costs one round trip.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, now time.Time, scope, key, fingerprint, claim string, lease time.Time) (*reroute.IdempotencyRecord, error) {
	k := idempotencyKey(scope, key)
	item, err := attributevalue.MarshalMap(idempotencyItem{
		PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: idempotencySK,
		Fingerprint: fingerprint, Claim: claim, ExpiresAt: lease.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding idempotency key: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#pk) OR #exp <= :now"),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#exp": attrTTL},
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": avN64(now.Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if len(ccf.Item) == 0 {
			return nil, unavailable(errors.New("idempotency key: the condition failed without returning the item"))
		}
		var cur idempotencyItem
		if err := attributevalue.UnmarshalMap(ccf.Item, &cur); err != nil {
			return nil, fmt.Errorf("decoding idempotency key: %w", err)
		}
		rec := &reroute.IdempotencyRecord{Fingerprint: cur.Fingerprint, ExpiresAt: time.Unix(cur.ExpiresAt, 0).UTC()}
		if cur.Done {
			rec.Answer = &reroute.IdempotentAnswer{Status: cur.Status, Header: cur.Header, Body: cur.Body}
		}
		return rec, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return nil, nil
}

// FinishIdempotencyKey stores the answer on the item of the claim, if the claim
// still holds it.
func (s *Store) FinishIdempotencyKey(ctx context.Context, scope, key, claim string, answer reroute.IdempotentAnswer, expires time.Time) error {
	u := newUpdateExpr()
	u.set(attrDone, u.value(":done", &types.AttributeValueMemberBOOL{Value: true}))
	u.set("status", u.value(":status", avN(answer.Status)))
	if len(answer.Header) > 0 {
		h, err := attributevalue.Marshal(answer.Header)
		if err != nil {
			return fmt.Errorf("encoding idempotent answer: %w", err)
		}
		u.set("header", u.value(":header", h))
	}
	if len(answer.Body) > 0 {
		u.set("body", u.value(":body", &types.AttributeValueMemberB{Value: answer.Body}))
	}
	u.set(attrTTL, u.value(":exp", avN64(expires.Unix())))
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       idempotencyKey(scope, key),
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String(u.name(attrClaim) + " = " + u.value(":claim", avS(claim))),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	})
	if _, failed := conditionFailed(err); failed {
		return reroute.Errorf(reroute.CodeConflict, "idempotency_claim_lost", "the idempotency key's claim lapsed before the request was done")
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// ReleaseIdempotencyKey deletes the item of the claim, if the claim still holds
// it (a lapsed claim may have been taken by another attempt, whose item stays).
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key, claim string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(s.table),
		Key:                       idempotencyKey(scope, key),
		ConditionExpression:       aws.String("#claim = :claim"),
		ExpressionAttributeNames:  map[string]string{"#claim": attrClaim},
		ExpressionAttributeValues: map[string]types.AttributeValue{":claim": avS(claim)},
	})
	if _, failed := conditionFailed(err); failed {
		return nil // not ours any more: nothing of ours to forget
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

func avN64(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
