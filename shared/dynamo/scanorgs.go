package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Scanner is the part of *dynamodb.Client that ScanOrgs calls. It is not in API:
// the service never scans, and its functions are granted no dynamodb:Scan.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ScanOrgs returns up to limit live orgs of table, in no particular order, and
// whether there are more. It reads the whole table, so it is for the local
// command on a developer's small table, where no user is known whose
// memberships GSI1 could list.
func ScanOrgs(ctx context.Context, db Scanner, table string, limit int) (orgs []reroute.Org, more bool, err error) {
	if limit < 1 {
		return nil, false, fmt.Errorf("ScanOrgs: limit %d, want at least 1", limit)
	}
	in := &dynamodb.ScanInput{
		TableName:                aws.String(table),
		FilterExpression:         aws.String("#sk = :sk AND begins_with(#pk, :prefix) AND attribute_not_exists(#deleting)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK, "#deleting": attrDeleting},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":sk": avS(orgSK), ":prefix": avS(orgPrefix),
		},
	}
	for {
		out, err := db.Scan(ctx, in)
		if err != nil {
			return nil, false, unavailable(err)
		}
		var items []orgItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, false, fmt.Errorf("decoding orgs: %w", err)
		}
		for _, it := range items {
			if len(orgs) == limit {
				return orgs, true, nil
			}
			orgs = append(orgs, it.org())
		}
		if len(out.LastEvaluatedKey) == 0 {
			return orgs, false, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
