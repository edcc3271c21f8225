// Command redirect is the Lambda function behind CloudFront that answers every
// customer hostname with its redirect. It reads its configuration once, at cold
// start, and serves function URL events natively (no HTTP adapter).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "redirect:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	serviceHost := env.Required("SERVICE_HOSTNAME")
	trust := env.Bool("TRUST_FORWARDED_HOST", false)
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	cfg := redirect.Config{
		ServiceHost:     serviceHost,
		CacheSize:       env.Int("CACHE_SIZE", redirect.DefaultCacheSize, 1),
		CacheRules:      env.Int("CACHE_RULES", redirect.DefaultCacheRules, 1),
		PositiveTTL:     env.Duration("CACHE_TTL", redirect.DefaultPositiveTTL),
		NegativeTTL:     env.Duration("NEGATIVE_CACHE_TTL", redirect.DefaultNegativeTTL),
		MaxStale:        env.Duration("MAX_STALE", redirect.DefaultMaxStale),
		LookupTimeout:   env.Duration("LOOKUP_TIMEOUT", redirect.DefaultLookupTimeout),
		PermanentMaxAge: env.Duration("REDIRECT_MAX_AGE", redirect.DefaultPermanentMaxAge),
	}
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	resolver := redirect.NewResolver(dynamo.New(dynamo.NewClient(awsCfg, endpoint), table), cfg, time.Now, log)
	log.Info("redirect function ready", "table", table, "serviceHost", serviceHost, "trustForwardedHost", trust, "cacheSize", cfg.CacheSize)
	lambda.StartWithOptions(redirect.NewLambdaHandler(resolver, trust).Handle, lambda.WithContext(ctx))
	return nil
}
