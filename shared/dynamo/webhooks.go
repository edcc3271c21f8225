package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

var _ reroute.WebhookStore = (*Store)(nil)

// attrWebhookCount counts an org's endpoints on its item, so that the limit is a
// condition of the transaction that adds one.
const attrWebhookCount = "webhookCount"

// webhookItem is an endpoint as stored, in its org's webhook partition.
type webhookItem struct {
	PK             string   `dynamodbav:"PK"`
	SK             string   `dynamodbav:"SK"`
	ID             string   `dynamodbav:"id"`
	OrgID          string   `dynamodbav:"orgId"`
	URL            string   `dynamodbav:"url"`
	Description    string   `dynamodbav:"description,omitempty"`
	Events         []string `dynamodbav:"events"`
	Enabled        bool     `dynamodbav:"enabled"`
	DisabledReason string   `dynamodbav:"disabledReason,omitempty"`
	Secret         string   `dynamodbav:"secret"`
	PreviousSecret string   `dynamodbav:"previousSecret,omitempty"`
	PreviousUntil  string   `dynamodbav:"previousUntil,omitempty"`
	Failures       int      `dynamodbav:"failures,omitempty"`
	FailingSince   string   `dynamodbav:"failingSince,omitempty"`
	CreatedAt      string   `dynamodbav:"createdAt"`
	UpdatedAt      string   `dynamodbav:"updatedAt"`
}

func newWebhookItem(e reroute.WebhookEndpoint) webhookItem {
	k := webhookKey(e.OrgID, e.ID)
	it := webhookItem{
		PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: k[attrSK].(*types.AttributeValueMemberS).Value,
		ID: e.ID, OrgID: e.OrgID, URL: e.URL, Description: e.Description, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, Secret: e.Secret, PreviousSecret: e.PreviousSecret,
		PreviousUntil: formatTime(e.PreviousUntil), Failures: e.Failures, FailingSince: formatTime(e.FailingSince),
		CreatedAt: formatTime(e.CreatedAt), UpdatedAt: formatTime(e.UpdatedAt),
	}
	for _, t := range e.Events {
		it.Events = append(it.Events, string(t))
	}
	return it
}

func (it webhookItem) endpoint() reroute.WebhookEndpoint {
	e := reroute.WebhookEndpoint{
		ID: it.ID, OrgID: it.OrgID, URL: it.URL, Description: it.Description, Enabled: it.Enabled,
		DisabledReason: it.DisabledReason, Secret: it.Secret, PreviousSecret: it.PreviousSecret,
		PreviousUntil: parseTime(it.PreviousUntil), Failures: it.Failures, FailingSince: parseTime(it.FailingSince),
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt),
	}
	for _, t := range it.Events {
		e.Events = append(e.Events, reroute.EventType(t))
	}
	return e
}

func errWebhookNotFound() error {
	return reroute.Errorf(reroute.CodeNotFound, "webhook_not_found", "no such webhook endpoint")
}

// CreateWebhook puts the endpoint and counts it on its live org, below
// MaxWebhooks, in one transaction.
func (s *Store) CreateWebhook(ctx context.Context, e reroute.WebhookEndpoint) error {
	if e.OrgID == "" || e.ID == "" || e.Secret == "" {
		return reroute.Errorf(reroute.CodeInvalid, "validation_failed", "an endpoint needs an org, an id and a secret")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = e.CreatedAt
	}
	item, err := attributevalue.MarshalMap(newWebhookItem(e))
	if err != nil {
		return fmt.Errorf("encoding webhook %s: %w", e.ID, err)
	}
	u := newUpdateExpr()
	n := u.name(attrWebhookCount)
	u.set(attrWebhookCount, "if_not_exists("+n+", "+u.value(":zero", avN(0))+") + "+u.value(":one", avN(1)))
	u.name(attrDeleting)
	cond := orgLive + " AND (attribute_not_exists(" + n + ") OR " + n + " < " + u.value(":max", avN(reroute.MaxWebhooks)) + ")"
	err = s.transact(ctx,
		types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")")}},
		s.orgUpdate(e.OrgID, u.expression(), cond, u.names, u.values))
	i, failed := conditionFailed(err)
	switch {
	case !failed && err != nil:
		return unavailable(err)
	case !failed:
		return nil
	case i == 0:
		return reroute.Errorf(reroute.CodeConflict, "webhook_exists", "an endpoint with that id exists")
	}
	org, ok, rerr := s.readOrg(ctx, e.OrgID)
	switch {
	case rerr != nil:
		return rerr
	case !ok || org.Deleting:
		return reroute.Errorf(reroute.CodeNotFound, "org_not_found", "no such org")
	}
	return &reroute.Error{Code: reroute.CodeLimit, Reason: "webhook_limit",
		Message: fmt.Sprintf("an org may have at most %d webhook endpoints", reroute.MaxWebhooks)}
}

// GetWebhook reads one endpoint, consistently.
func (s *Store) GetWebhook(ctx context.Context, orgID, id string) (reroute.WebhookEndpoint, error) {
	if orgID == "" || id == "" {
		return reroute.WebhookEndpoint{}, errWebhookNotFound()
	}
	it, found, err := getItem[webhookItem](ctx, s, webhookKey(orgID, id))
	if err != nil {
		return reroute.WebhookEndpoint{}, err
	}
	if !found {
		return reroute.WebhookEndpoint{}, errWebhookNotFound()
	}
	return it.endpoint(), nil
}

// ListWebhooks reads the org's endpoints with one Query (there are at most
// MaxWebhooks, well within a page), in id order.
func (s *Store) ListWebhooks(ctx context.Context, orgID string) ([]reroute.WebhookEndpoint, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(webhookPK(orgID)), ":sk": avS(webhookSKOf)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, unavailable(err)
	}
	var items []webhookItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, fmt.Errorf("decoding webhooks: %w", err)
	}
	eps := make([]reroute.WebhookEndpoint, 0, len(items))
	for _, it := range items {
		eps = append(eps, it.endpoint())
	}
	return eps, nil
}

// webhookUpdate runs an update of an existing endpoint.
func (s *Store) webhookUpdate(ctx context.Context, orgID, id string, u *updateExpr, extraCond string) (webhookItem, error) {
	cond := "attribute_exists(" + attrPK + ")"
	if extraCond != "" {
		cond += " AND " + extraCond
	}
	values := u.values
	if len(values) == 0 {
		values = nil // DynamoDB refuses an empty map
	}
	var out *dynamodb.UpdateItemOutput
	err := retryConflicts(ctx, func() error {
		var err error
		out, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: webhookKey(orgID, id),
			UpdateExpression: aws.String(u.expression()), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: u.names, ExpressionAttributeValues: values,
			ReturnValues: types.ReturnValueAllNew,
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return webhookItem{}, errWebhookNotFound()
	}
	if err != nil {
		return webhookItem{}, unavailable(err)
	}
	var it webhookItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return webhookItem{}, fmt.Errorf("decoding webhook %s: %w", id, err)
	}
	return it, nil
}

// UpdateWebhook replaces the endpoint's settings; enabling it clears its
// failures and the reason it was disabled.
func (s *Store) UpdateWebhook(ctx context.Context, e reroute.WebhookEndpoint) error {
	if e.OrgID == "" || e.ID == "" {
		return errWebhookNotFound()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = s.now()
	}
	events, err := attributevalue.Marshal(newWebhookItem(e).Events)
	if err != nil {
		return err
	}
	u := newUpdateExpr()
	u.set("url", u.value(":url", avS(e.URL)))
	u.setS("description", e.Description)
	u.set("events", u.value(":events", events))
	u.set("enabled", u.value(":enabled", &types.AttributeValueMemberBOOL{Value: e.Enabled}))
	u.set(attrUpdatedAt, u.value(":updatedAt", avS(formatTime(e.UpdatedAt))))
	if e.Enabled {
		u.remove("disabledReason")
		u.remove("failures")
		u.remove("failingSince")
	}
	_, err = s.webhookUpdate(ctx, e.OrgID, e.ID, u, "")
	return err
}

// DeleteWebhook deletes the endpoint and uncounts it, in one transaction. Its
// deliveries expire on their own.
func (s *Store) DeleteWebhook(ctx context.Context, orgID, id string) error {
	if orgID == "" || id == "" {
		return errWebhookNotFound()
	}
	u := newUpdateExpr()
	u.set(attrWebhookCount, u.name(attrWebhookCount)+" - "+u.value(":one", avN(1)))
	err := s.transact(ctx,
		types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: webhookKey(orgID, id),
			ConditionExpression: aws.String("attribute_exists(" + attrPK + ")")}},
		s.orgUpdate(orgID, u.expression(), orgExists+" AND "+u.name(attrWebhookCount)+" > "+u.value(":zero", avN(0)), u.names, u.values))
	if _, failed := conditionFailed(err); failed {
		return errWebhookNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// RotateWebhookSecret makes secret the signing one, the current one signing
// beside it until keepOldUntil.
func (s *Store) RotateWebhookSecret(ctx context.Context, orgID, id, secret string, keepOldUntil time.Time) error {
	if orgID == "" || id == "" {
		return errWebhookNotFound()
	}
	u := newUpdateExpr()
	u.set("previousSecret", u.name("secret"))
	u.set("secret", u.value(":secret", avS(secret)))
	u.set("previousUntil", u.value(":until", avS(formatTime(keepOldUntil))))
	u.set(attrUpdatedAt, u.value(":updatedAt", avS(formatTime(s.now()))))
	_, err := s.webhookUpdate(ctx, orgID, id, u, "")
	return err
}

// deliveryItem is an attempt as stored, in its endpoint's delivery partition.
type deliveryItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	OrgID      string `dynamodbav:"orgId"`
	EndpointID string `dynamodbav:"endpointId"`
	EventID    string `dynamodbav:"eventId"`
	Type       string `dynamodbav:"type"`
	Attempt    int    `dynamodbav:"attempt"`
	At         string `dynamodbav:"at"`
	Status     int    `dynamodbav:"status,omitempty"`
	Error      string `dynamodbav:"error,omitempty"`
	OK         bool   `dynamodbav:"ok"`
	Final      bool   `dynamodbav:"final,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
}

// RecordDelivery stores the attempt (it expires after WebhookDeliveryHistory)
// and counts it on the endpoint: a success clears the failures, a failure adds
// one. The recording that finds the endpoint failing for WebhookFailingFor or
// WebhookMaxConsecutive times disables it, conditionally, so that exactly one
// recording reports Disabled.
func (s *Store) RecordDelivery(ctx context.Context, d reroute.WebhookDelivery) (reroute.WebhookOutcome, error) {
	if d.At.IsZero() {
		d.At = s.now()
	}
	k := deliveryKey(d.OrgID, d.EndpointID, d.At, d.EventID, d.Attempt)
	item, err := attributevalue.MarshalMap(deliveryItem{
		PK: k[attrPK].(*types.AttributeValueMemberS).Value, SK: k[attrSK].(*types.AttributeValueMemberS).Value,
		OrgID: d.OrgID, EndpointID: d.EndpointID, EventID: d.EventID, Type: string(d.Type), Attempt: d.Attempt,
		At: formatTime(d.At), Status: d.Status, Error: d.Error, OK: d.OK, Final: d.Final,
		ExpiresAt: d.At.Add(reroute.WebhookDeliveryHistory).Unix(),
	})
	if err != nil {
		return reroute.WebhookOutcome{}, fmt.Errorf("encoding a delivery: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return reroute.WebhookOutcome{}, unavailable(err)
	}
	u := newUpdateExpr()
	if d.OK {
		u.remove("failures")
		u.remove("failingSince")
	} else {
		f := u.name("failures")
		u.set("failures", "if_not_exists("+f+", "+u.value(":zero", avN(0))+") + "+u.value(":one", avN(1)))
		u.set("failingSince", "if_not_exists("+u.name("failingSince")+", "+u.value(":at", avS(formatTime(d.At)))+")")
	}
	it, err := s.webhookUpdate(ctx, d.OrgID, d.EndpointID, u, "")
	if err != nil {
		return reroute.WebhookOutcome{}, err
	}
	ep := it.endpoint()
	if d.OK || !ep.Enabled ||
		ep.Failures < reroute.WebhookMaxConsecutive && d.At.Sub(ep.FailingSince) < reroute.WebhookFailingFor {
		return reroute.WebhookOutcome{Endpoint: ep}, nil
	}
	reason := fmt.Sprintf("disabled after %d failed deliveries since %s", ep.Failures, ep.FailingSince.Format(time.RFC3339))
	u = newUpdateExpr()
	u.set("enabled", u.value(":off", &types.AttributeValueMemberBOOL{Value: false}))
	u.set("disabledReason", u.value(":reason", avS(reason)))
	it, err = s.webhookUpdate(ctx, d.OrgID, d.EndpointID, u, u.name("enabled")+" = "+u.value(":on", &types.AttributeValueMemberBOOL{Value: true}))
	var e *reroute.Error
	if errors.As(err, &e) && e.Code == reroute.CodeNotFound {
		return reroute.WebhookOutcome{Endpoint: ep}, nil // disabled meanwhile by another recording, or deleted
	}
	if err != nil {
		return reroute.WebhookOutcome{}, err
	}
	return reroute.WebhookOutcome{Disabled: true, Endpoint: it.endpoint()}, nil
}

// ListDeliveries reads an endpoint's attempts, newest first, a page at a time.
func (s *Store) ListDeliveries(ctx context.Context, orgID, id string, p reroute.PageRequest) (reroute.Page[reroute.WebhookDelivery], error) {
	size, err := p.Size()
	if err != nil {
		return reroute.Page[reroute.WebhookDelivery]{}, err
	}
	pk := deliveryPK(orgID, id)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(pk), ":sk": avS(deliverySKOf)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(size)), //nolint:gosec // G115: Size is at most MaxPageSize (200)
	}
	if p.Cursor != "" {
		last, err := decodeCursorOf(p.Cursor, func(sk string) bool { return strings.HasPrefix(sk, deliverySKOf) && len(sk) < 200 })
		if err != nil {
			return reroute.Page[reroute.WebhookDelivery]{}, err
		}
		in.ExclusiveStartKey = tableKey(pk, last)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return reroute.Page[reroute.WebhookDelivery]{}, unavailable(err)
	}
	var items []deliveryItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return reroute.Page[reroute.WebhookDelivery]{}, fmt.Errorf("decoding deliveries: %w", err)
	}
	page := reroute.Page[reroute.WebhookDelivery]{Items: make([]reroute.WebhookDelivery, 0, len(items))}
	for _, it := range items {
		page.Items = append(page.Items, reroute.WebhookDelivery{
			OrgID: it.OrgID, EndpointID: it.EndpointID, EventID: it.EventID, Type: reroute.EventType(it.Type),
			Attempt: it.Attempt, At: parseTime(it.At), Status: it.Status, Error: it.Error, OK: it.OK, Final: it.Final,
		})
	}
	if sk, ok := out.LastEvaluatedKey[attrSK].(*types.AttributeValueMemberS); ok && len(items) == size {
		page.NextCursor = encodeCursor(sk.Value)
	}
	return page, nil
}
