package dynamo

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// SigningKey returns the service's own HMAC key of that name, making it (32
// bytes from rand) the first time: the Put holds only if no key exists, so two
// functions starting at once agree on one. It lives in the table, which only the
// service's functions read, so the stack needs no secret of its own for it; a
// caller reads it once (at cold start, or on first use with SigningKeyOnce).
func (s *Store) SigningKey(ctx context.Context, name string, rand io.Reader) ([]byte, error) {
	for range 2 {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: signingKeyKey(name), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, unavailable(err)
		}
		if b, ok := out.Item["key"].(*types.AttributeValueMemberB); ok && len(b.Value) > 0 {
			return b.Value, nil
		}
		key := make([]byte, 32)
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, fmt.Errorf("reading random bytes: %w", err)
		}
		item := signingKeyKey(name)
		item["key"] = &types.AttributeValueMemberB{Value: key}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")")})
		if _, failed := conditionFailed(err); failed {
			continue // another function made it first: read theirs
		}
		if err != nil {
			return nil, unavailable(err)
		}
		return key, nil
	}
	return nil, unavailable(fmt.Errorf("signing key %s: made and gone", name))
}

// SigningKeyOnce is a getter of the key called name that reads (or makes) it
// on first use and keeps it, so that a function needing it only now and then
// spends no round trip at cold start; a failure is not kept.
func (s *Store) SigningKeyOnce(name string, rand io.Reader) func(context.Context) ([]byte, error) {
	var mu sync.Mutex
	var key []byte
	return func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if key == nil {
			k, err := s.SigningKey(ctx, name, rand)
			if err != nil {
				return nil, err
			}
			key = k
		}
		return key, nil
	}
}
