// Command domains is the scheduled Lambda function (EventBridge, every few
// minutes) that carries custom domains on without anyone pressing a button: it
// advances pending routes (their CloudFront tenant and certificate, their DNS),
// releases routes whose hostname never pointed here in time, and removes from
// CloudFront what no route uses any more. It reads its configuration once, at
// cold start.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "domains:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	cfg := domains.Config{
		CNAMETarget: env.Required("CNAME_TARGET"),
		Policy:      reroute.DomainPolicy{ReleaseAfter: env.Duration("RELEASE_AFTER", reroute.DefaultReleaseAfter)},
		BatchSize:   env.Int("DOMAIN_BATCH_SIZE", domains.DefaultBatchSize, 1),
	}
	edgeCfg := edge.Config{
		DistributionID:    env.Required("DISTRIBUTION_ID"),
		ConnectionGroupID: env.Required("CONNECTION_GROUP_ID"),
		Endpoint:          env.String("EDGE_ENDPOINT", ""), // the AWS fake in tests; unset on AWS
	}
	dnsCfg := dnscheck.Config{Servers: env.List("DNS_SERVERS")}
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	svc := domains.New(store, edge.NewCloudFront(awsCfg, edgeCfg), dnscheck.New(dnsCfg), cfg, time.Now, rand.Reader, log)
	log.Info("domains function ready", "table", table, "distribution", edgeCfg.DistributionID, "batch", cfg.BatchSize)
	lambda.StartWithOptions(handler(svc, log), lambda.WithContext(ctx))
	return nil
}

// handler runs the worker once per scheduled event. Its answer (the run's counts)
// shows in the invocation's logs; a run that could not read what is due fails,
// so that the function's Errors alarm sees it.
func handler(svc *domains.Service, log *slog.Logger) func(context.Context, events.EventBridgeEvent) (domains.RunStats, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (domains.RunStats, error) {
		st, err := svc.Run(ctx)
		if err != nil {
			log.ErrorContext(ctx, "domain worker run failed", "event", ev.ID, "err", err)
			return st, err
		}
		log.InfoContext(ctx, "domain worker run", "event", ev.ID, "due", st.Due, "advanced", st.Advanced,
			"active", st.Active, "released", st.Released, "removed", st.Removed, "errors", st.Errors, "stopped", st.Stopped)
		return st, nil
	}
}
