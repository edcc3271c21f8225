// Package dynamo keeps the reroute domain in one DynamoDB table, the one template.yaml
// defines. Rules that span requests (a hostname belongs to one org, plan limits) are
// enforced by conditional writes in DynamoDB, never by reading first in Go.
package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// API is the part of *dynamodb.Client the Store calls; *dynamodb.Client implements
// it, and tests wrap one to inject the failures DynamoDB Local never produces.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Store implements the reroute stores on one table. It is safe for concurrent use.
type Store struct {
	db    API
	table string
	now   func() time.Time

	// The redirect path's request parts never change: built once, shared read-only.
	findProjection *string
	findNames      map[string]string
}

var (
	_ reroute.RouteStore  = (*Store)(nil)
	_ reroute.RouteFinder = (*Store)(nil)
)

// New returns a Store on the named table.
func New(db API, table string) *Store {
	s := &Store{db: db, table: table, now: time.Now}
	s.findProjection, s.findNames = findProjection()
	return s
}

// unavailable wraps a DynamoDB failure: the caller learns that the database failed,
// never how (the cause stays in Err, for logs).
func unavailable(err error) error {
	return &reroute.Error{Code: reroute.CodeUnavailable, Reason: "store_unavailable", Message: "the database is unavailable", Err: err}
}

// conditionFailed reports whether err says that a write's condition did not hold.
// It is the one place that knows both shapes: a plain write's
// ConditionalCheckFailedException, and a transaction's TransactionCanceledException
// with a ConditionalCheckFailed reason, where item is the index of the first
// TransactItem whose condition failed (-1 for a plain write), so that a caller can
// tell which rule was broken.
func conditionFailed(err error) (item int, ok bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return -1, true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return i, true
			}
		}
	}
	return 0, false
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
