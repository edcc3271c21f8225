package dynamo

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var _ reroute.NotifyPrefStore = (*Store)(nil)

// prefsItem is a member's email preferences, beside their membership in the
// org's partition.
type prefsItem struct {
	PK     string   `dynamodbav:"PK"`
	SK     string   `dynamodbav:"SK"`
	OrgID  string   `dynamodbav:"orgId"`
	Email  string   `dynamodbav:"email"`
	Events []string `dynamodbav:"events"`
}

// GetEmailPrefs reads a member's preferences (one GetItem); unset, the defaults.
func (s *Store) GetEmailPrefs(ctx context.Context, orgID, email string) (reroute.EmailPrefs, error) {
	it, found, err := getItem[prefsItem](ctx, s, notifyKey(orgID, email))
	if err != nil {
		return reroute.EmailPrefs{}, err
	}
	p := reroute.EmailPrefs{OrgID: orgID, Email: email, Events: slices.Clone(reroute.DefaultEmailEvents)}
	if found {
		p.Set, p.Events = true, []reroute.EventType{}
		for _, t := range it.Events {
			p.Events = append(p.Events, reroute.EventType(t))
		}
	}
	return p, nil
}

// SetEmailPrefs stores a member's preferences in a transaction that holds only
// while they are a member.
func (s *Store) SetEmailPrefs(ctx context.Context, p reroute.EmailPrefs) error {
	k := notifyKey(p.OrgID, p.Email)
	it := prefsItem{PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: k[attrSK].(*types.AttributeValueMemberS).Value,
		OrgID: p.OrgID, Email: p.Email, Events: []string{}}
	for _, t := range p.Events {
		it.Events = append(it.Events, string(t))
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encoding preferences: %w", err)
	}
	err = s.transact(ctx,
		types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item}},
		types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(s.table),
			Key: memberKey(p.OrgID, p.Email), ConditionExpression: aws.String("attribute_exists(" + attrPK + ")")}})
	if _, failed := conditionFailed(err); failed {
		return reroute.Errorf(reroute.CodeNotFound, "member_not_found", "no such member")
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}
