package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
	"github.com/dnsreroute/dnsreroute/shared/lambdatest"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/s3test"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

// The built bootstrap runs a batch of two jobs received from moto's SQS: a
// delivery the endpoint refuses with 503 (hidden for its backoff and reported,
// so that it stays) and an email (sent through moto's SES, and deleted); then
// the redelivered job succeeds, signed as the specification's library checks.
func TestBootstrapDeliversJobs(t *testing.T) {
	ctx := t.Context()
	client, table := dynamotest.NewTable(t)
	store := dynamo.New(client, table)
	now := time.Now().UTC()
	if err := store.CreateOrg(ctx, reroute.Org{ID: "o1", Name: "Shop", Plan: reroute.PlanDeveloper, RouteLimit: 10, MemberLimit: 5, RuleLimit: 100, CreatedAt: now},
		reroute.Member{OrgID: "o1", Email: "owner@example.com", Role: reroute.RoleOwner, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	secret, _ := webhook.NewSecret(strings.NewReader(strings.Repeat("k", 32)))
	var mu sync.Mutex
	var calls, verified int
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		wh, _ := standardwebhooks.NewWebhook(secret)
		if wh.Verify(body, r.Header) == nil {
			verified++
		}
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer recv.Close()
	if err := store.CreateWebhook(ctx, reroute.WebhookEndpoint{ID: "wh_1", OrgID: "o1", URL: recv.URL,
		Events: []reroute.EventType{reroute.EventDomainFailed}, Enabled: true, Secret: secret}); err != nil {
		t.Fatal(err)
	}

	moto := s3test.Start(t)
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	sq := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint), Credentials: creds})
	ses := sesv2.New(sesv2.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint), Credentials: creds})
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("notify@dnsreroute.test")}); err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := reroute.NewEvent(reroute.EventDomainFailed, "o1", now, reroute.DomainEventData{Host: "www.shop.example", Reason: "no CNAME"})
	jobs := []notify.Job{
		{Kind: notify.KindWebhook, EndpointID: "wh_1", Event: notify.EventJSON{ID: ev.ID, Type: ev.Type, OrgID: "o1", Time: ev.Time, Data: ev.Data}},
		{Kind: notify.KindEmail, Email: "owner@example.com", Event: notify.EventJSON{ID: ev.ID, Type: ev.Type, OrgID: "o1", Time: ev.Time, Data: ev.Data}},
	}
	for _, j := range jobs {
		b, _ := json.Marshal(j)
		if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(string(b))}); err != nil {
			t.Fatal(err)
		}
	}

	rt := lambdatest.Start(t, lambdatest.Build(t, "github.com/dnsreroute/dnsreroute/functions/deliver"), map[string]string{
		"TABLE_NAME": table, "QUEUE_URL": aws.ToString(q.QueueUrl),
		"SQS_ENDPOINT": moto.Endpoint, "SES_ENDPOINT": moto.Endpoint, "DYNAMODB_ENDPOINT": os.Getenv(dynamotest.EndpointEnv),
		"NOTIFICATION_SENDER": "notify@dnsreroute.test", "API_BASE_URL": "https://api.dnsreroute.test", "DASHBOARD_URL": "https://app.dnsreroute.test",
		"DNSREROUTE_DEV_ALLOW_LOOPBACK": "true",
		"AWS_ACCESS_KEY_ID":             "local", "AWS_SECRET_ACCESS_KEY": "local",
	})
	// receive gets the queue's visible messages as Lambda's SQS poller hands them over.
	receive := func(want int) events.SQSEvent {
		t.Helper()
		var batch events.SQSEvent
		deadline := time.Now().Add(time.Minute)
		for len(batch.Records) < want && time.Now().Before(deadline) {
			out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"ApproximateReceiveCount"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Messages {
				batch.Records = append(batch.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
					Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"})
			}
		}
		if len(batch.Records) != want {
			t.Fatalf("received %d messages, want %d", len(batch.Records), want)
		}
		return batch
	}
	invoke := func(batch events.SQSEvent) events.SQSEventResponse {
		t.Helper()
		payload, _ := json.Marshal(batch)
		ictx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		res, err := rt.Invoke(ictx, payload)
		if err != nil || res.Error != nil {
			t.Fatalf("invoke: %v %s\n%s", err, res.Error, rt.Logs.String())
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}

	batch := receive(2)
	resp := invoke(batch)
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %+v, want the webhook's alone", resp.BatchItemFailures)
	}
	for _, m := range batch.Records { // what Lambda does with the others: delete them
		if m.MessageId != resp.BatchItemFailures[0].ItemIdentifier {
			if _, err := sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: aws.String(m.ReceiptHandle)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The first backoff is about 30 s: the job is hidden meanwhile.
	if out, _ := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1}); len(out.Messages) != 0 {
		t.Fatal("the job to retry is visible at once")
	}
	if _, err := sq.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: q.QueueUrl,
		ReceiptHandle: aws.String(batch.Records[0].ReceiptHandle), VisibilityTimeout: 0}); err != nil {
		t.Fatal(err) // not waiting out the backoff: make it visible now
	}
	if resp := invoke(receive(1)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second attempt: failures %+v", resp.BatchItemFailures)
	}
	mu.Lock()
	if calls != 2 || verified != 2 {
		t.Errorf("the endpoint had %d calls, %d verified; want 2 and 2", calls, verified)
	}
	mu.Unlock()
	page, err := store.ListDeliveries(ctx, "o1", "wh_1", reroute.PageRequest{})
	if err != nil || len(page.Items) != 2 || !page.Items[0].OK || page.Items[0].Attempt != 2 || page.Items[1].Status != 503 {
		t.Fatalf("deliveries %+v, %v", page.Items, err)
	}
	res, err := http.Get(moto.Endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "owner@example.com") {
		t.Fatal("moto's SES sent no email to the owner")
	}
}
