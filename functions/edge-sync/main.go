// Command edge-sync is the Lambda function that keeps the CloudFront
// KeyValueStore (which the viewer-request function answers redirects from) in
// step with the table. It takes two kinds of events: batches of the table's
// stream (DynamoDB Streams, through an event source mapping), which publish the
// hostnames they touch, answering with the batch item failures Lambda retries;
// and any other event (the scheduled run, or an operator's manual invoke with
// {}), which reconciles the whole store and answers what it fixed. It reads its
// configuration once, at cold start.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/edgesync"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "edge-sync:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	cfg := edgesync.Config{
		ARN:    env.Required("KVS_ARN"),
		Budget: env.Int("EDGE_BUDGET_BYTES", edgekvs.DefaultBudget, 1),
		// The redirect function's settings of the same names: the edge answers
		// with the same Cache-Control.
		Edge: edgekvs.Config{
			PermanentMaxAge: env.Duration("REDIRECT_MAX_AGE", redirect.DefaultPermanentMaxAge),
			NegativeTTL:     env.Duration("NEGATIVE_CACHE_TTL", redirect.DefaultNegativeTTL),
		},
	}
	kvsEndpoint := env.String("KVS_ENDPOINT", "") // the KeyValueStore fake in tests; unset on AWS
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	db := dynamo.NewClient(awsCfg, endpoint)
	client, err := edgesync.NewKVSClient(awsCfg, kvsEndpoint)
	if err != nil {
		return err
	}
	syncer, err := edgesync.New(dynamo.New(db, table).WithScanner(db), client, cfg, log)
	if err != nil {
		return err
	}
	log.Info("edge sync function ready", "table", table, "kvs", cfg.ARN, "budget", cfg.Budget)
	lambda.StartWithOptions(handler(syncer, log), lambda.WithContext(ctx))
	return nil
}

// handler tells a stream batch (it has "Records") from anything else, which
// reconciles. A reconciliation that fails returns its error, so that the
// function's Errors alarm sees it; a stream batch never does: its failures are
// batch item failures, retried from the first failed record.
func handler(s *edgesync.Syncer, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Records json.RawMessage `json:"Records"`
		}
		if err := json.Unmarshal(raw, &probe); err != nil {
			return nil, fmt.Errorf("the event is not a JSON object: %w", err)
		}
		if len(probe.Records) > 0 && !bytes.Equal(probe.Records, []byte("null")) {
			var ev events.DynamoDBEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decoding a stream batch: %w", err)
			}
			return s.HandleStream(ctx, ev)
		}
		rep, err := s.Reconcile(ctx)
		if err != nil {
			log.ErrorContext(ctx, "edge reconciliation failed", "err", err)
			return nil, err
		}
		return rep, nil
	}
}
