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

var _ reroute.DestinationStore = (*Store)(nil)

// destinationTTL: a destination item outlives its last probe by a week.
const destinationTTL = 7 * 24 * time.Hour

type destinationItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	OrgID     string `dynamodbav:"orgId"`
	Host      string `dynamodbav:"host"`
	State     string `dynamodbav:"state"`
	Target    string `dynamodbav:"target"`
	LastError string `dynamodbav:"lastError,omitempty"`
	CheckedAt string `dynamodbav:"checkedAt"`
	Failures  int    `dynamodbav:"failures,omitempty"`
	Since     string `dynamodbav:"since,omitempty"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// GetDestination reads host's destination item (one GetItem).
func (s *Store) GetDestination(ctx context.Context, host string) (reroute.Destination, error) {
	it, found, err := getItem[destinationItem](ctx, s, destinationKey(host))
	if err != nil || !found {
		return reroute.Destination{}, err
	}
	return it.destination(), nil
}

func (it destinationItem) destination() reroute.Destination {
	return reroute.Destination{State: reroute.DestinationState(it.State), Target: it.Target, LastError: it.LastError,
		CheckedAt: parseTime(it.CheckedAt), Failures: it.Failures, Since: parseTime(it.Since)}
}

// GetDestinations reads the destination items of hosts with one BatchGetItem
// per 100 (a page of the routes list); a host without one is missing from the map.
func (s *Store) GetDestinations(ctx context.Context, hosts []string) (map[string]reroute.Destination, error) {
	items, err := s.batchGetHosts(ctx, hosts, destinationKey)
	if err != nil {
		return nil, err
	}
	out := make(map[string]reroute.Destination, len(items))
	for _, item := range items {
		var it destinationItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("decoding a destination: %w", err)
		}
		out[it.Host] = it.destination()
	}
	return out, nil
}

// SaveDestination puts next on condition that the item is still prev (its
// checkedAt; absent for a zero prev), with the event in the same transaction.
func (s *Store) SaveDestination(ctx context.Context, orgID, host string, prev, next reroute.Destination, event *reroute.Event) error {
	k := destinationKey(host)
	item, err := attributevalue.MarshalMap(destinationItem{
		PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: k[attrSK].(*types.AttributeValueMemberS).Value,
		OrgID: orgID, Host: host, State: string(next.State), Target: next.Target, LastError: next.LastError,
		CheckedAt: formatTime(next.CheckedAt), Failures: next.Failures, Since: formatTime(next.Since),
		ExpiresAt: next.CheckedAt.Add(destinationTTL).Unix(),
	})
	if err != nil {
		return fmt.Errorf("encoding the destination of %s: %w", host, err)
	}
	put := &types.Put{TableName: aws.String(s.table), Item: item}
	if prev.CheckedAt.IsZero() {
		put.ConditionExpression = aws.String("attribute_not_exists(" + attrPK + ")")
	} else {
		put.ConditionExpression = aws.String("#c = :c")
		put.ExpressionAttributeNames = map[string]string{"#c": attrCheckedAt}
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":c": avS(formatTime(prev.CheckedAt))}
	}
	items := []types.TransactWriteItem{{Put: put}}
	if event != nil {
		told, err := s.outboxPut(*event)
		if err != nil {
			return err
		}
		items = append(items, told)
	}
	err = s.transact(ctx, items...)
	if _, failed := conditionFailed(err); failed {
		return reroute.Errorf(reroute.CodeConflict, "destination_changed", "the destination of %s was checked meanwhile", host)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// maxScannedOrgs bounds the orgs one scan returns: far above what one
// deployment holds, a guard against reading without end.
const maxScannedOrgs = 1_000_000

// Orgs returns every live org, read with one paged Scan of the table (as
// ScanOrgs, through the scanner, which is what its grant names): the
// monitor's hourly run, which needs every org and has no user to list them by.
func (s *ScanStore) Orgs(ctx context.Context) ([]reroute.Org, error) {
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(s.table),
		FilterExpression:          aws.String("#sk = :sk AND begins_with(#pk, :prefix) AND attribute_not_exists(#deleting)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK, "#deleting": attrDeleting},
		ExpressionAttributeValues: map[string]types.AttributeValue{":sk": avS(orgSK), ":prefix": avS(orgPrefix)},
	}
	var orgs []reroute.Org
	for {
		out, err := s.scanner.Scan(ctx, in)
		if err != nil {
			return nil, unavailable(err)
		}
		var items []orgItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, fmt.Errorf("decoding orgs: %w", err)
		}
		for _, it := range items {
			orgs = append(orgs, it.org())
		}
		if len(out.LastEvaluatedKey) == 0 || len(orgs) >= maxScannedOrgs {
			return orgs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
