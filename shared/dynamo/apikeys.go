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

// API key attributes besides the keys.
const (
	attrKeyID      = "id"
	attrHash       = "hash"
	attrLastUsedAt = "lastUsedAt"
)

// apiKeyItem is an API key as stored. Its expiry is keyExpiresAt, not the table's
// TTL attribute expiresAt: an expired key stays listed (as expired) until revoked,
// rather than vanishing whenever DynamoDB gets round to it. LastUsedAt is written
// by formatTime like every time, fixed-width, so that TouchAPIKey's condition can
// compare it as text.
type apiKeyItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	GSI1PK     string `dynamodbav:"GSI1PK"`
	GSI1SK     string `dynamodbav:"GSI1SK"`
	ID         string `dynamodbav:"id"`
	OrgID      string `dynamodbav:"orgId"`
	Name       string `dynamodbav:"name"`
	Scope      string `dynamodbav:"scope"`
	Hash       string `dynamodbav:"hash"`
	Hint       string `dynamodbav:"hint"`
	CreatedBy  string `dynamodbav:"createdBy,omitempty"`
	CreatedAt  string `dynamodbav:"createdAt,omitempty"`
	ExpiresAt  string `dynamodbav:"keyExpiresAt,omitempty"`
	LastUsedAt string `dynamodbav:"lastUsedAt,omitempty"`
}

func newAPIKeyItem(k reroute.APIKey) apiKeyItem {
	return apiKeyItem{
		PK: apiKeyPK(k.Hash), SK: apiKeySK,
		GSI1PK: apiKeyGSI1PK(k.OrgID), GSI1SK: apiKeyGSI1SK(k.ID),
		ID: k.ID, OrgID: k.OrgID, Name: k.Name, Scope: string(k.Scope), Hash: k.Hash, Hint: k.Hint,
		CreatedBy: k.CreatedBy, CreatedAt: formatTime(k.CreatedAt),
		ExpiresAt: formatTime(k.ExpiresAt), LastUsedAt: formatTime(k.LastUsedAt),
	}
}

func (it apiKeyItem) apiKey() reroute.APIKey {
	return reroute.APIKey{
		ID: it.ID, OrgID: it.OrgID, Name: it.Name, Scope: reroute.Scope(it.Scope), Hash: it.Hash, Hint: it.Hint,
		CreatedBy: it.CreatedBy, CreatedAt: parseTime(it.CreatedAt),
		ExpiresAt: parseTime(it.ExpiresAt), LastUsedAt: parseTime(it.LastUsedAt),
	}
}

func errAPIKeyNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "api_key_not_found", Message: "no such API key"}
}

// validHash accepts a hex SHA-256, lowercase: the only form a key is stored under.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := range len(h) {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxKeyIDLen bounds a key id, which sits in a key and in cursors.
const maxKeyIDLen = 128

// validKeyID accepts 1 to 128 printable ASCII characters other than space.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for i := range len(id) {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// CreateAPIKey stores a new key, in one transaction with a check that its org is
// live, so that a key cannot outlive an org being deleted. A hash already stored is
// CodeConflict "api_key_exists"; a missing or deleting org is CodeNotFound. Zero
// CreatedAt is set to now.
func (s *Store) CreateAPIKey(ctx context.Context, k reroute.APIKey) error {
	if !validHash(k.Hash) || !validKeyID(k.ID) || k.OrgID == "" || !reroute.ValidScope(k.Scope) {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed",
			Message: "an API key needs an id, an org, a scope and the hex SHA-256 of its secret"}
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	item, err := attributevalue.MarshalMap(newAPIKeyItem(k))
	if err != nil {
		return fmt.Errorf("encoding API key %s: %w", k.ID, err)
	}
	err = s.transact(ctx,
		types.TransactWriteItem{Put: &types.Put{
			TableName:           aws.String(s.table),
			Item:                item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
		}},
		s.orgCheck(k.OrgID),
	)
	if i, failed := conditionFailed(err); failed {
		if i == 1 {
			return errOrgNotFound()
		}
		return &reroute.Error{Code: reroute.CodeConflict, Reason: "api_key_exists", Message: "that API key already exists"}
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// GetAPIKeyByHash returns the key whose secret hashes to hash, read consistently so
// that a revoked key stops working at once.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash string) (reroute.APIKey, error) {
	if !validHash(hash) {
		return reroute.APIKey{}, errAPIKeyNotFound()
	}
	it, found, err := getItem[apiKeyItem](ctx, s, apiKeyKey(hash))
	if err != nil {
		return reroute.APIKey{}, err
	}
	if !found {
		return reroute.APIKey{}, errAPIKeyNotFound()
	}
	return it.apiKey(), nil
}

// ListAPIKeys pages through orgID's keys in id order, on GSI1. The cursor holds the
// last key's id; the next page is the range of the org's keys from that id on (its
// own item, if still there, is skipped), since GSI1's start key would need the
// key's hash, which a cursor should not carry.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.APIKey], error) {
	size, err := page.Size()
	if err != nil {
		return reroute.Page[reroute.APIKey]{}, err
	}
	after := ""
	if page.Cursor != "" {
		if after, err = decodeCursorOf(page.Cursor, validKeyID); err != nil {
			return reroute.Page[reroute.APIKey]{}, err
		}
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(indexGSI1),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK, "#sk": attrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			// The range is bounded by the caller's org: a cursor cannot leave it.
			":pk": avS(apiKeyGSI1PK(orgID)), ":from": avS(apiKeyGSI1SK(after)), ":to": avS(apiKeyGSI1SKEnd),
		},
		// One more than the page says whether there is a next one; one more again
		// for the cursor's own key, which the inclusive range returns first.
		Limit: aws.Int32(int32(size + 1)),
	}
	if after != "" {
		in.Limit = aws.Int32(int32(size + 2))
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return reroute.Page[reroute.APIKey]{}, unavailable(err)
	}
	var items []apiKeyItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return reroute.Page[reroute.APIKey]{}, fmt.Errorf("decoding API keys of org %s: %w", orgID, err)
	}
	if len(items) > 0 && after != "" && items[0].ID == after {
		items = items[1:]
	}
	var p reroute.Page[reroute.APIKey]
	if len(items) > size {
		items = items[:size]
		p.NextCursor = encodeCursor(items[size-1].ID)
	}
	p.Items = make([]reroute.APIKey, len(items))
	for i, it := range items {
		p.Items[i] = it.apiKey()
	}
	return p, nil
}

// DeleteAPIKey revokes orgID's key keyID. It finds the key's hash on the org's
// partition of GSI1 (eventually consistent: a key made an instant ago may not be
// found yet), then deletes the key on condition that it is the org's, so another
// org's key answers not found like a missing one.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, keyID string) error {
	if orgID == "" || !validKeyID(keyID) {
		return errAPIKeyNotFound()
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(indexGSI1),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk = :sk"),
		ProjectionExpression:     aws.String("#hash"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK, "#sk": attrGSI1SK, "#hash": attrHash},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(apiKeyGSI1PK(orgID)), ":sk": avS(apiKeyGSI1SK(keyID)),
		},
	})
	if err != nil {
		return unavailable(err)
	}
	if len(out.Items) == 0 {
		return errAPIKeyNotFound()
	}
	for _, it := range out.Items {
		hash, _ := it[attrHash].(*types.AttributeValueMemberS)
		if hash == nil {
			return fmt.Errorf("API key %s of org %s has no hash", keyID, orgID)
		}
		err := retryConflicts(ctx, func() error {
			_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName:                 aws.String(s.table),
				Key:                       apiKeyKey(hash.Value),
				ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #orgId = :orgId AND #id = :id"),
				ExpressionAttributeNames:  map[string]string{"#orgId": attrOrgID, "#id": attrKeyID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":orgId": avS(orgID), ":id": avS(keyID)},
			})
			return err
		})
		if _, failed := conditionFailed(err); failed {
			return errAPIKeyNotFound()
		}
		if err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// touchInterval is how often at most a key's last use is recorded: authenticating
// is a read, and it should not become a write on every request.
const touchInterval = time.Minute

// TouchAPIKey records a use of the key at `at` (zero: now), unless one was
// recorded in the minute before. It is one conditional UpdateItem; the condition
// failing (recorded recently, or the key revoked meanwhile) is not an error.
func (s *Store) TouchAPIKey(ctx context.Context, hash string, at time.Time) error {
	if !validHash(hash) {
		return nil
	}
	if at.IsZero() {
		at = s.now()
	}
	err := retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:        aws.String(s.table),
			Key:              apiKeyKey(hash),
			UpdateExpression: aws.String("SET #lastUsedAt = :at"),
			ConditionExpression: aws.String("attribute_exists(" + attrPK + ") AND " +
				"(attribute_not_exists(#lastUsedAt) OR #lastUsedAt < :before)"),
			ExpressionAttributeNames: map[string]string{"#lastUsedAt": attrLastUsedAt},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":at": avS(formatTime(at)), ":before": avS(formatTime(at.Add(-touchInterval))),
			},
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return nil
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}
