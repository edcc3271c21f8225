package dynamo

import "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

// Every key of the table is built here and nowhere else, and every key value starts
// with its entity type, so that items of different kinds can never collide and an
// IAM policy can scope a function to one kind (the redirector may read HOST#* only).

// Attribute and index names, as template.yaml declares them (a test checks).
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrTTL    = "expiresAt" // unix seconds

	indexGSI1 = "GSI1"
)

// Route items: one per hostname, so that the table itself enforces that a hostname
// belongs to one org, and GSI1 lists an org's routes in host order.
const (
	routeSK       = "ROUTE"
	routeGSI1SKOf = "ROUTE#" // prefix of every route's GSI1SK
)

func routePK(host string) string      { return "HOST#" + host }
func routeGSI1PK(orgID string) string { return orgPrefix + orgID }
func routeGSI1SK(host string) string  { return routeGSI1SKOf + host }

const orgPrefix = "ORG#"

// routeKey is the primary key of host's route item.
func routeKey(host string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: routePK(host)},
		attrSK: &types.AttributeValueMemberS{Value: routeSK},
	}
}

// routeIndexKey is the full key of a route in GSI1 (the index's keys plus the
// table's), which a Query needs as its ExclusiveStartKey.
func routeIndexKey(orgID, host string) map[string]types.AttributeValue {
	k := routeKey(host)
	k[attrGSI1PK] = &types.AttributeValueMemberS{Value: routeGSI1PK(orgID)}
	k[attrGSI1SK] = &types.AttributeValueMemberS{Value: routeGSI1SK(host)}
	return k
}
