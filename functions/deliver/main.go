// Command deliver is the Lambda function that runs notification jobs from the
// SQS queue the dispatcher fills: a signed webhook delivery to one endpoint, or
// one email through SES. A job to try again later is hidden for its backoff
// delay (ChangeMessageVisibility) and answered as a batch item failure, so SQS
// delivers it again then; a job whose handling fails outright is retried after
// the queue's visibility timeout and lands in the dead-letter queue after
// maxReceiveCount receives. It reads its configuration once, at cold start.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dnsreroute/dnsreroute/shared/delivery"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
	"github.com/dnsreroute/dnsreroute/shared/sesmail"
	"github.com/dnsreroute/dnsreroute/shared/sqsqueue"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deliver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	queueURL := env.Required("QUEUE_URL")
	// The SES identity emails are sent from; empty: no email (webhooks only).
	from := env.String("NOTIFICATION_SENDER", "")
	apiBase := env.Required("API_BASE_URL")
	dashboard := env.Required("DASHBOARD_URL")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	sqsEndpoint := env.String("SQS_ENDPOINT", "")   // moto in tests; unset on AWS
	sesEndpoint := env.String("SES_ENDPOINT", "")   // moto in tests; unset on AWS
	// Development only (`dnsreroute dev`, this function's own test): lets
	// endpoints on loopback be reached. The stack's template never sets it.
	loopback := env.Bool("DNSREROUTE_DEV_ALLOW_LOOPBACK", false)
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	// The unsubscribe links' key, which the API checks them with.
	key, err := store.SigningKey(ctx, "unsubscribe", rand.Reader)
	if err != nil {
		return err
	}
	queue := sqsqueue.New(sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if sqsEndpoint != "" {
			o.BaseEndpoint = aws.String(sqsEndpoint)
		}
	}), queueURL)
	ses := sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) {
		if sesEndpoint != "" {
			o.BaseEndpoint = aws.String(sesEndpoint)
		}
	})
	d := &delivery.Deliverer{
		Webhooks: store, Members: store, Prefs: store, Queue: queue, Now: time.Now, Log: log,
		Client: safehttp.Guard{AllowLoopback: loopback}.Client(safehttp.ClientOptions{Timeout: 15 * time.Second}),
	}
	if from != "" {
		d.Mail = &delivery.Mailer{Sender: sesmail.New(ses), From: from, APIBase: apiBase, Dashboard: dashboard,
			UnsubscribeKey: key, Now: time.Now}
	}
	log.Info("deliver function ready", "table", table, "queue", queueURL, "loopback", loopback)
	lambda.StartWithOptions(handler(d, queue, log), lambda.WithContext(ctx))
	return nil
}

// handler runs each job of a batch. A job done (delivered, or given up on)
// succeeds, and Lambda deletes its message; a job to retry is hidden for its
// delay and reported as a failure, so that it stays.
func handler(d *delivery.Deliverer, q *sqsqueue.Queue, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		fail := func(m events.SQSMessage) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
		for _, m := range batch.Records {
			var job notify.Job
			if err := json.Unmarshal([]byte(m.Body), &job); err != nil {
				log.ErrorContext(ctx, "a job that is not JSON: left for the dead-letter queue", "message", m.MessageId, "err", err)
				fail(m)
				continue
			}
			attempt, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
			if err != nil || attempt < 1 {
				attempt = 1
			}
			out, err := d.Run(ctx, job, attempt)
			switch {
			case err != nil:
				log.ErrorContext(ctx, "job failed", "message", m.MessageId, "event", job.Event.ID, "err", err)
				fail(m)
			case !out.Done:
				if err := q.RetryIn(ctx, m.ReceiptHandle, out.RetryIn); err != nil {
					log.ErrorContext(ctx, "delaying a job failed: it returns after the queue's visibility timeout", "message", m.MessageId, "err", err)
				}
				fail(m)
			}
		}
		return resp, nil
	}
}
