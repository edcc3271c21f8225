// Package dynamo keeps the reroute domain in one DynamoDB table, the one template.yaml
// defines. Rules that span requests (a hostname belongs to one org, plan limits) are
// enforced by conditional writes in DynamoDB, never by reading first in Go.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Store implements the reroute stores on one table. It is safe for concurrent use.
type Store struct {
	db    API
	table string
	now   func() time.Time

	// The redirect path's request parts never change: built once, shared read-only.
	findProjection  *string
	findNames       map[string]string
	pauseProjection *string
	pauseNames      map[string]string
	// A Query of a hostname's partition: the route's attributes and its chunks'.
	partitionProjection *string
	partitionNames      map[string]string
}

var (
	_ reroute.RouteStore   = (*Store)(nil)
	_ reroute.RouteFinder  = (*Store)(nil)
	_ reroute.OrgStore     = (*Store)(nil)
	_ reroute.APIKeyStore  = (*Store)(nil)
	_ reroute.BillingStore = (*Store)(nil)
)

// New returns a Store on the named table.
func New(db API, table string) *Store {
	s := &Store{db: db, table: table, now: time.Now}
	s.findProjection, s.findNames = projection(findAttrs...)
	s.pauseProjection, s.pauseNames = projection(pauseAttrs...)
	s.partitionProjection, s.partitionNames = projection(append([]string{attrSK, attrRules}, findAttrs...)...)
	s.partitionNames["#pk"], s.partitionNames["#sk"] = attrPK, attrSK // the key condition's
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

// transactionConflict reports whether err says that the write lost a race with a
// transaction on the same item and was not applied: a transaction cancelled with a
// TransactionConflict reason (and no failed condition), or a plain write refused
// with TransactionConflictException. The SDK retries neither; retryConflicts does.
func transactionConflict(err error) bool {
	if err == nil {
		return false
	}
	if _, failed := conditionFailed(err); failed {
		return false // the condition's answer stands, whatever else happened
	}
	var tc *types.TransactionConflictException
	if errors.As(err, &tc) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	return false
}

// Retries of writes that lost to a concurrent transaction: a jittered exponential
// backoff, so that writers racing for one item (an org's counters) spread out.
const (
	maxConflictAttempts = 10
	conflictBackoff     = 5 * time.Millisecond
	maxConflictBackoff  = 250 * time.Millisecond
)

// retryConflicts runs write until it does not fail with a transaction conflict, at
// most maxConflictAttempts times, and returns its last error as it is.
func retryConflicts(ctx context.Context, write func() error) error {
	backoff := conflictBackoff
	for attempt := 1; ; attempt++ {
		err := write()
		if attempt == maxConflictAttempts || !transactionConflict(err) {
			return err
		}
		// Full jitter: anywhere up to the backoff, so that the losers do not meet again.
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+time.Millisecond); err != nil {
			return err
		}
		backoff = min(2*backoff, maxConflictBackoff)
	}
}

// transact writes items in one transaction, again when it conflicts with another.
// A condition failure comes back as it is, for conditionFailed to read.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) error {
	return retryConflicts(ctx, func() error {
		// A new input each time: the SDK stores its idempotency token in the input,
		// and a retry of a cancelled transaction must not look like a replay of it.
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		return err
	})
}

// batchWriteMax is the number of requests one BatchWriteItem accepts.
const batchWriteMax = 25

// deleteKeys deletes the items with the given keys, 25 to a BatchWriteItem.
func (s *Store) deleteKeys(ctx context.Context, keys []map[string]types.AttributeValue) error {
	reqs := make([]types.WriteRequest, len(keys))
	for i, k := range keys {
		reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}}
	}
	return s.batchWrite(ctx, reqs)
}

// batchWrite makes the writes, 25 to a BatchWriteItem, retrying those DynamoDB
// leaves unprocessed with a short exponential backoff.
func (s *Store) batchWrite(ctx context.Context, all []types.WriteRequest) error {
	for start := 0; start < len(all); start += batchWriteMax {
		reqs := all[start:min(start+batchWriteMax, len(all))]
		backoff := 10 * time.Millisecond
		for attempt := 0; ; attempt++ {
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{s.table: reqs},
			})
			if err != nil {
				return unavailable(err)
			}
			if reqs = out.UnprocessedItems[s.table]; len(reqs) == 0 {
				break
			}
			if attempt == maxUnprocessedRetries {
				return unavailable(fmt.Errorf("%d writes still unprocessed after %d attempts", len(reqs), attempt+1))
			}
			if err := sleep(ctx, backoff); err != nil {
				return unavailable(err)
			}
			backoff *= 2
		}
	}
	return nil
}

// Attribute values.
func avS(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }
func avN(v int) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.Itoa(v)}
}

// updateExpr builds an UpdateExpression of SET and REMOVE clauses, and the
// condition beside it, with every attribute behind a placeholder ("#attr") and
// every value too: the names and values it hands over are exactly those its
// expressions use, as DynamoDB requires.
type updateExpr struct {
	sets, removes []string
	names         map[string]string
	values        map[string]types.AttributeValue
}

func newUpdateExpr() *updateExpr {
	return &updateExpr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// name returns the placeholder of attr (a plain attribute name).
func (u *updateExpr) name(attr string) string {
	ph := "#" + attr
	u.names[ph] = attr
	return ph
}

// value returns the placeholder ph (":word") standing for v.
func (u *updateExpr) value(ph string, v types.AttributeValue) string {
	u.values[ph] = v
	return ph
}

// set adds "attr = expr".
func (u *updateExpr) set(attr, expr string) { u.sets = append(u.sets, u.name(attr)+" = "+expr) }

// remove adds "REMOVE attr".
func (u *updateExpr) remove(attr string) { u.removes = append(u.removes, u.name(attr)) }

// setS sets a string attribute, or removes it for "": an absent attribute reads
// as "", and conditions can test its absence.
func (u *updateExpr) setS(attr, v string) {
	if v == "" {
		u.remove(attr)
		return
	}
	u.set(attr, u.value(":"+attr, avS(v)))
}

// expression is the UpdateExpression.
func (u *updateExpr) expression() string {
	var b strings.Builder
	if len(u.sets) > 0 {
		b.WriteString("SET " + strings.Join(u.sets, ", "))
	}
	if len(u.removes) > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("REMOVE " + strings.Join(u.removes, ", "))
	}
	return b.String()
}

// Times are stored as RFC 3339 strings in UTC with exactly nine fractional digits:
// they round-trip exactly, read well in the console, and, being fixed-width, sort
// and compare as text in the order of time (a condition can compare two of them;
// time.RFC3339Nano drops trailing zeros, and "05Z" sorts after "05.5Z").
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored time; one that does not parse reads as zero rather than
// making the whole item unreadable.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
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

// NewClient returns a DynamoDB client for cfg; endpoint, when set, replaces AWS's
// (DynamoDB Local in tests and local runs).
func NewClient(cfg aws.Config, endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// getItem reads one item consistently and decodes it; found is false without one.
func getItem[I any](ctx context.Context, s *Store, key map[string]types.AttributeValue) (it I, found bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key,
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return it, false, unavailable(err)
	}
	if out.Item == nil {
		return it, false, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return it, false, fmt.Errorf("decoding %T: %w", it, err)
	}
	return it, true, nil
}
