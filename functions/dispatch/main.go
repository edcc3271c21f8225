// Command dispatch is the Lambda function that reads the outbox: the table's
// stream, filtered by its event source mapping to new outbox items only, each an
// event recorded in the transaction of its change. It queues the event's jobs
// (a delivery per webhook endpoint, an email per member who wants it) on the
// notification queue, and answers the batch item failures Lambda retries from.
// It reads its configuration once, at cold start.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/notify"
	"github.com/dnsreroute/dnsreroute/shared/sqsqueue"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dispatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	queueURL := env.Required("QUEUE_URL")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	sqsEndpoint := env.String("SQS_ENDPOINT", "")   // moto in tests; unset on AWS
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	sq := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if sqsEndpoint != "" {
			o.BaseEndpoint = aws.String(sqsEndpoint)
		}
	})
	d := &notify.Dispatcher{Webhooks: store, Members: store, Prefs: store, Queue: sqsqueue.New(sq, queueURL), Log: log}
	log.Info("dispatch function ready", "table", table, "queue", queueURL)
	lambda.StartWithOptions(handler(d, log), lambda.WithContext(ctx))
	return nil
}

// handler dispatches each new outbox item of a batch, in order; at the first
// failure it answers that record and stops, so Lambda retries from it (the
// events before it are not dispatched again).
func handler(d *notify.Dispatcher, log *slog.Logger) func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	return func(ctx context.Context, batch events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		var resp events.DynamoDBEventResponse
		for _, rec := range batch.Records {
			if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
				continue
			}
			item, err := fromStream(rec.Change.NewImage)
			if err != nil {
				log.ErrorContext(ctx, "an outbox record cannot be read: skipped", "seq", rec.Change.SequenceNumber, "err", err)
				continue // a retry cannot fix it
			}
			e, ok, err := dynamo.DecodeOutbox(item)
			if err != nil || !ok {
				log.ErrorContext(ctx, "not an outbox item: skipped", "seq", rec.Change.SequenceNumber, "err", err)
				continue
			}
			if err := d.Dispatch(ctx, e); err != nil {
				log.ErrorContext(ctx, "dispatch failed: the batch is retried from it", "event", e.ID, "err", err)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: rec.Change.SequenceNumber})
				return resp, nil
			}
		}
		return resp, nil
	}
}

// fromStream converts a stream image to the SDK's attribute values.
func fromStream(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := convert(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func convert(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeList:
		l := make([]types.AttributeValue, 0, len(v.List()))
		for _, x := range v.List() {
			av, err := convert(x)
			if err != nil {
				return nil, err
			}
			l = append(l, av)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case events.DataTypeMap:
		m, err := fromStream(v.Map())
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("an attribute of type %v", v.DataType())
}
