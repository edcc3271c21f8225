// Command monitor is the Lambda function the schedule invokes about hourly: it
// probes the targets of the routes of orgs whose plan allows destination
// monitoring (and a sample of their rules' targets), within a budget of probes
// per run, and records each destination's state, telling its transitions as
// events. It reads its configuration once, at cold start.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/monitor"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/safehttp"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	env := envconfig.New(getenv)
	table := env.Required("TABLE_NAME")
	endpoint := env.String("DYNAMODB_ENDPOINT", "") // DynamoDB Local in tests; unset on AWS
	budget := env.Int("MONITOR_BUDGET", 500, 1)     // probes per run, one at a time; a run also stops before its timeout
	rules := env.Int("MONITOR_RULES_PER_ROUTE", 2, 0)
	timeout := env.Duration("MONITOR_TIMEOUT", 5*time.Second)
	// Development only (`dnsreroute dev`, this function's own test): lets
	// targets on loopback be probed. The stack's template never sets it.
	loopback := env.Bool("DNSREROUTE_DEV_ALLOW_LOOPBACK", false)
	log := logging.New(stderr, logging.ParseLevel(env.String("LOG_LEVEL", "info")))
	if err := env.Err(); err != nil {
		return err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	db := dynamo.NewClient(awsCfg, endpoint)
	store := dynamo.New(db, table)
	client := safehttp.Guard{AllowLoopback: loopback}.Client(safehttp.ClientOptions{Timeout: timeout, MaxRedirects: 5})
	m := &monitor.Monitor{Orgs: store.WithScanner(db), Routes: store, Store: store, Plans: reroute.DefaultCatalog(),
		Probe: monitor.Prober{Client: client, Timeout: timeout}.Probe, Budget: budget, RulesPerRoute: rules,
		// A route's probes (its target and sampled rules, HEAD then GET each)
		// finish before the function's timeout.
		Reserve: time.Duration(1+rules)*2*timeout + 10*time.Second,
		Now:     time.Now, Log: log}
	log.Info("monitor function ready", "table", table, "budget", budget)
	lambda.StartWithOptions(handler(m, log), lambda.WithContext(ctx))
	return nil
}

// handler runs once per invocation (the schedule's, or an operator's {}) and
// answers what it did; a failed run returns its error, for the Errors alarm.
func handler(m *monitor.Monitor, log *slog.Logger) func(context.Context) (monitor.Report, error) {
	return func(ctx context.Context) (monitor.Report, error) {
		rep, err := m.Run(ctx)
		if err != nil {
			log.ErrorContext(ctx, "monitor run failed", "err", err, "probed", rep.Probed)
			return rep, err
		}
		log.InfoContext(ctx, "monitor run", "probed", rep.Probed, "broken", rep.Broken, "recovered", rep.Recovered, "outOfBudget", rep.OutOfBudget, "outOfTime", rep.OutOfTime)
		return rep, nil
	}
}
