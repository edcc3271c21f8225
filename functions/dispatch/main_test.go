package main_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/s3test"
)

// streamImage is a stored item as the table's stream carries it.
func streamImage(t *testing.T, item map[string]types.AttributeValue) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = map[string]string{"S": v.Value}
		case *types.AttributeValueMemberN:
			out[k] = map[string]string{"N": v.Value}
		default:
			t.Fatalf("attribute %s of type %T in an outbox item", k, v)
		}
	}
	return out
}

// The built bootstrap reads a stream batch holding a route's outbox item (and a
// record of another kind, and a removal), and queues one delivery for the
// endpoint that wants route.created.
func TestBootstrapDispatchesOutboxItems(t *testing.T) {
	ctx := t.Context()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	now := time.Now().UTC()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 100, CreatedAt: now},
		reroute.Member{OrgID: "o1", Email: "owner@example.com", Role: reroute.RoleOwner, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateWebhook(ctx, reroute.WebhookEndpoint{ID: "wh_1", OrgID: "o1", URL: "https://hooks.example.net/",
		Events: []reroute.EventType{reroute.EventRouteCreated}, Enabled: true, Secret: "whsec_c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateRoute(ctx, reroute.Route{Host: "www.shop.example", OrgID: "o1", Target: "https://shop.example.org/", Status: 301, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	scan, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), FilterExpression: aws.String("begins_with(PK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: dynamo.OutboxPrefix}}})
	if err != nil || len(scan.Items) != 1 {
		t.Fatalf("outbox items: %d, %v", len(scan.Items), err)
	}
	eventID := scan.Items[0]["eventId"].(*types.AttributeValueMemberS).Value

	moto := s3test.Start(t)
	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}

	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/dispatch"), map[string]string{
		"TABLE_NAME":            table,
		"QUEUE_URL":             aws.ToString(q.QueueUrl),
		"SQS_ENDPOINT":          moto.Endpoint,
		"DYNAMODB_ENDPOINT":     os.Getenv(dynamotest.EndpointEnv),
		"AWS_ACCESS_KEY_ID":     "local",
		"AWS_SECRET_ACCESS_KEY": "local",
	})
	batch := map[string]any{"Records": []any{
		map[string]any{"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
			"dynamodb": map[string]any{"SequenceNumber": "100", "NewImage": streamImage(t, scan.Items[0]), "StreamViewType": "NEW_AND_OLD_IMAGES"}},
		map[string]any{"eventID": "2", "eventName": "REMOVE", "eventSource": "aws:dynamodb",
			"dynamodb": map[string]any{"SequenceNumber": "101", "OldImage": streamImage(t, scan.Items[0])}},
		map[string]any{"eventID": "3", "eventName": "INSERT", "eventSource": "aws:dynamodb",
			"dynamodb": map[string]any{"SequenceNumber": "102", "NewImage": map[string]any{"PK": map[string]string{"S": "HOST#x"}, "SK": map[string]string{"S": "ROUTE"}}}},
	}}
	payload, _ := json.Marshal(batch)
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	res, err := rt.Invoke(ictx, payload)
	if err != nil || res.Error != nil {
		t.Fatalf("invoke: %v %s\n%s", err, res.Error, rt.Logs.String())
	}
	var resp events.DynamoDBEventResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("answer %s: %v", res.Payload, err)
	}
	out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d jobs queued, want 1 (the endpoint's; the owner is not emailed about route.created)", len(out.Messages))
	}
	var job notify.Job
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &job); err != nil {
		t.Fatal(err)
	}
	if job.Kind != notify.KindWebhook || job.EndpointID != "wh_1" || job.Event.ID != eventID || job.Event.Type != reroute.EventRouteCreated {
		t.Fatalf("job %+v", job)
	}
}
