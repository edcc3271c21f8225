// Command api is the Lambda function behind API Gateway (HTTP API, payload 2.0) that
// serves the management API. It reads its configuration once, at cold start.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/dnsreroute/dnsreroute/shared/auth"
	"github.com/dnsreroute/dnsreroute/shared/billing"
	"github.com/dnsreroute/dnsreroute/shared/dnscheck"
	"github.com/dnsreroute/dnsreroute/shared/domains"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edge"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/httpapi"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/oauth"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
	"github.com/dnsreroute/dnsreroute/shared/secrets"
	"github.com/dnsreroute/dnsreroute/shared/webhook"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	serviceHost := env.Required("SERVICE_HOSTNAME")
	jwtCfg := auth.JWTConfig{
		Issuer:     env.Required("OIDC_ISSUER"),
		Audience:   env.Required("OIDC_AUDIENCE"),
		JWKSURL:    env.String("OIDC_JWKS_URL", ""),
		EmailClaim: env.String("OIDC_EMAIL_CLAIM", "email"),
	}
	// The claim that must be true for the email to be trusted; "none" for an issuer
	// that sends no such claim because it verifies every address another way.
	if c := env.String("OIDC_EMAIL_VERIFIED_CLAIM", "email_verified"); c == "none" {
		jwtCfg.EmailVerifiedOptional = true
	} else {
		jwtCfg.EmailVerifiedClaim = c
	}
	apiCfg := httpapi.Config{
		CORSOrigins: env.List("CORS_ORIGINS"),
		CNAMETarget: env.String("CNAME_TARGET", serviceHost),
		ServiceHost: serviceHost,
		// The KeyValueStore the edge sync fills; unset: no edge, every route
		// is the origin's.
		EdgeStoreARN: env.ARN("EDGE_KVS_ARN", "cloudfront", "key-value-store/"),
	}
	// The authorization server for third-party apps: its issuer is the API's
	// own URL (unset: the host API Gateway was called on), its authorization
	// endpoint the dashboard's consent page.
	oauthCfg := oauth.Config{
		Issuer:          env.String("OAUTH_ISSUER", ""),
		AuthorizeURL:    strings.TrimSuffix(env.String("DASHBOARD_URL", ""), "/") + "/oauth/authorize",
		AccessLifetime:  env.Duration("OAUTH_ACCESS_TOKEN_TTL", time.Hour),
		RefreshLifetime: env.Duration("OAUTH_REFRESH_TOKEN_TTL", 30*24*time.Hour),
	}
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	domainCfg := domains.Config{
		// A check answers within the function's timeout (15 s) and API Gateway's.
		LookTimeout: 6 * time.Second,
		CNAMETarget: apiCfg.CNAMETarget,
		Policy:      reroute.DomainPolicy{ReleaseAfter: env.Duration("RELEASE_AFTER", reroute.DefaultReleaseAfter)},
	}
	edgeCfg := edge.Config{
		DistributionID:    env.Required("DISTRIBUTION_ID"),
		ConnectionGroupID: env.Required("CONNECTION_GROUP_ID"),
		Endpoint:          env.String("EDGE_ENDPOINT", ""), // the AWS fake in tests; unset on AWS
	}
	dnsCfg := dnscheck.Config{Servers: env.List("DNS_SERVERS")}
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	settings, err := billing.ReadSettings(ctx, env, func(ctx context.Context, v string) (string, error) {
		return secrets.Resolve(ctx, v, secretsmanager.NewFromConfig(awsCfg), ssm.NewFromConfig(awsCfg))
	})
	if err != nil {
		return err
	}
	if err := env.Err(); err != nil {
		return err
	}
	var payments reroute.Payments // nil: billing answers billing_not_configured
	if settings.Enabled() {
		payments = billing.NewStripe(settings.Config, nil)
	}
	store := dynamo.New(dynamo.NewClient(awsCfg, endpoint), table)
	// The issuer's keys load in the background: an unreachable issuer must not keep
	// the function from starting, nor API keys from working.
	jwtCfg.Log = log
	verifier, err := auth.NewJWTVerifier(ctx, jwtCfg, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("OIDC issuer %s: %w", jwtCfg.Issuer, err)
	}
	oauthServer := oauth.New(oauthCfg, store, rand.Reader, time.Now, log)
	doms := domains.New(store, edge.NewCloudFront(awsCfg, edgeCfg), dnscheck.New(dnsCfg), domainCfg, time.Now, rand.Reader, log)
	handler := httpapi.NewServer(httpapi.Deps{
		Routes: store, Orgs: store, Keys: store, BillingStore: store,
		Idempotency: store, // Idempotency-Key of POST requests, kept 24 h
		Payments:    payments,
		Domains:     doms,
		Limiter:     store,       // DNS checks, counted in the table across instances
		Analytics:   store,       // the counters the analytics function adds from CloudFront's logs
		OAuth:       oauthServer, // third-party apps' authorization server
		OAuthStore:  store,
		Auth:        auth.NewAuthenticator(verifier, store, oauthServer, time.Now, log),
		Plans:       settings.Plans,
		Config:      apiCfg,
		Log:         log,
		Now:         time.Now,
		Rand:        rand.Reader,
		Events:      store, // events that are no table write of their own (an import's end)
		Webhooks: &httpapi.Webhooks{Store: store, URLs: safehttp.Guard{},
			NewSecret: func() (string, error) { return webhook.NewSecret(rand.Reader) }},
		Notifications: &httpapi.Notifications{Prefs: store, UnsubscribeKey: store.SigningKeyOnce("unsubscribe", rand.Reader)},
	})
	log.Info("api function ready", "table", table, "issuer", jwtCfg.Issuer, "corsOrigins", apiCfg.CORSOrigins, "billing", settings.Enabled())
	lambda.StartWithOptions(httpadapter.NewV2(handler).ProxyWithContext, lambda.WithContext(ctx))
	return nil
}
