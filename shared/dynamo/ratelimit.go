package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var _ reroute.RateLimiter = (*Store)(nil)

const attrCount = "count"

// Take counts one event at now against every limit in one transaction: each
// window's counter goes up only while below its limit, so the count holds across
// every instance of the service, and a refusal counts against none. A counter
// expires (TTL) when its window ends.
func (s *Store) Take(ctx context.Context, now time.Time, limits ...reroute.Limit) error {
	if len(limits) == 0 {
		return nil
	}
	items := make([]types.TransactWriteItem, len(limits))
	for i, l := range limits {
		if l.Kind == "" || l.Subject == "" || l.Max < 1 || l.Window < time.Second {
			return fmt.Errorf("rate limit %+v: a kind, a subject, a positive maximum and a window of a second or more", l)
		}
		start, end := l.WindowAt(now)
		u := newUpdateExpr()
		u.set(attrTTL, u.value(":end", avN(int(end.Unix()))))
		expr := u.expression() + " ADD " + u.name(attrCount) + " " + u.value(":one", avN(1))
		cond := "attribute_not_exists(" + u.name(attrCount) + ") OR " + u.name(attrCount) + " < " + u.value(":max", avN(l.Max))
		items[i] = types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       rateKey(l.Kind, l.Subject, start.Unix()),
			UpdateExpression:          aws.String(expr),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  u.names,
			ExpressionAttributeValues: u.values,
		}}
	}
	err := s.transact(ctx, items...)
	if i, failed := conditionFailed(err); failed {
		if i < 0 || i >= len(limits) {
			return unavailable(errors.New("rate limit: a condition failed outside the transaction's items"))
		}
		return reroute.ErrRateLimited(limits[i], now)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}
