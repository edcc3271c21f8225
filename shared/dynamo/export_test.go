package dynamo

import "context"

// Internals the black-box tests check, exposed to them only.

// KeyAttributes are the key attribute and index names the key constructors use.
var KeyAttributes = struct{ PK, SK, GSI1PK, GSI1SK, GSI1, GSI2PK, GSI2SK, GSI2, TTL string }{
	attrPK, attrSK, attrGSI1PK, attrGSI1SK, indexGSI1, attrGSI2PK, attrGSI2SK, indexGSI2, attrTTL,
}

var (
	RouteKey        = routeKey
	RouteIndexKey   = routeIndexKey
	ConditionFailed = conditionFailed
	OrgKey          = orgKey
	MemberKey       = memberKey
	APIKeyKey       = apiKeyKey
	ReleaseKey      = releaseKey
	RateKey         = rateKey
)

var (
	StripeCustomerKey = stripeCustomerKey
	StripeEventKey    = stripeEventKey
)

var (
	ChunkRules     = chunkRules
	RuleChunkBytes = ruleChunkBytes
)

// OAuthRequestTokens counts the token entries an authorization item holds.
func OAuthRequestTokens(s *Store, requestID string) (int, error) {
	it, _, err := getItem[oauthRequestItem](context.Background(), s, oauthRequestKey(requestID))
	return len(it.Tokens), err
}
