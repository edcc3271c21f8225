// Command stripe-webhook is the Lambda function behind POST /webhooks/stripe: it
// keeps every org's plan in step with Stripe. It reads its configuration, and its
// secrets, once at cold start.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/secrets"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "stripe-webhook:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	resolve := func(ctx context.Context, v string) (string, error) {
		return secrets.Resolve(ctx, v, secretsmanager.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg))
	}
	settings, err := billing.ReadSettings(ctx, env, resolve)
	if err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	hook := billing.NewWebhook(settings.Config.WebhookSecret, settings.Plans, billing.DefaultTolerance, time.Now)
	handler := billing.NewHandler(hook, store, store, settings.Plans, log)
	if settings.Config.WebhookSecret == "" {
		log.Warn("STRIPE_WEBHOOK_SECRET is not set: every event answers 500 billing_not_configured")
	}
	log.Info("stripe-webhook function ready", "table", table)
	lambda.StartWithOptions(httpadapter.NewV2(handler).ProxyWithContext, lambda.WithContext(ctx))
	return nil
}
