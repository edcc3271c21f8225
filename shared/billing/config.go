package billing

import (
	"context"
	"fmt"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Settings are the billing settings every program reads at start.
type Settings struct {
	Config Config
	Plans  reroute.Catalog // the service's plans, with the Stripe price of each paid one
}

// Enabled reports whether Stripe keys are set: without them billing answers
// billing_not_configured and everything else works.
func (s Settings) Enabled() bool { return s.Config.SecretKey != "" }

// ReadSettings reads STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (each a literal,
// or a Secrets Manager or SSM reference that resolve turns into the secret: read
// once, at cold start), STRIPE_PRICE_DEVELOPER and STRIPE_PRICE_ENTERPRISE, and
// DASHBOARD_URL, where Checkout and the portal send the customer back.
func ReadSettings(ctx context.Context, env *envconfig.Reader, resolve func(context.Context, string) (string, error)) (Settings, error) {
	keyRef := env.String("STRIPE_SECRET_KEY", "")
	hookRef := env.String("STRIPE_WEBHOOK_SECRET", "")
	dashboard := strings.TrimSuffix(env.String("DASHBOARD_URL", "http://127.0.0.1:8080"), "/")
	prices := map[string]string{
		reroute.PlanDeveloper:  env.String("STRIPE_PRICE_DEVELOPER", ""),
		reroute.PlanEnterprise: env.String("STRIPE_PRICE_ENTERPRISE", ""),
	}
	s := Settings{
		Config: Config{
			APIBase:         env.String("STRIPE_API_BASE", ""),
			SuccessURL:      dashboard + "/billing?checkout=success",
			CancelURL:       dashboard + "/billing?checkout=cancelled",
			PortalReturnURL: dashboard + "/billing",
		},
		Plans: reroute.DefaultCatalog().WithStripePrices(prices),
	}
	var err error
	if s.Config.SecretKey, err = resolve(ctx, keyRef); err != nil {
		return s, fmt.Errorf("STRIPE_SECRET_KEY: %w", err)
	}
	if s.Config.WebhookSecret, err = resolve(ctx, hookRef); err != nil {
		return s, fmt.Errorf("STRIPE_WEBHOOK_SECRET: %w", err)
	}
	return s, nil
}
