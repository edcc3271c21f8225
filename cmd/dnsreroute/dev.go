package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/logging"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
)

// Defaults of the local stack, shared by `dev` and `routes`.
const (
	defaultDynamoPort = 8000
	defaultTable      = "dnsreroute-local"
	defaultDataDir    = ".ddb-data"
	defaultRedirect   = "127.0.0.1:8081"
	devServiceHost    = "localhost"
)

func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	redirectAddr := fs.String("redirect-addr", envOr(getenv, "REDIRECT_ADDR", defaultRedirect), "address of the redirector")
	dynamoPort := fs.Int("dynamodb-port", defaultDynamoPort, "port of DynamoDB Local")
	dataDir := fs.String("data", defaultDataDir, "folder keeping DynamoDB Local's data between runs")
	table := fs.String("table", defaultTable, "table name")
	toolsDir := fs.String("tools", "tools", "folder holding the installed tools (make tools)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	log := logging.New(stderr, logging.ParseLevel(envOr(getenv, "LOG_LEVEL", "info")))

	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return err
	}
	ddb, err := devstack.StartDynamoDBLocal(ctx, devstack.DynamoDBLocalOptions{ToolsDir: *toolsDir, Port: *dynamoPort, DataDir: *dataDir})
	if err != nil {
		return fmt.Errorf("start DynamoDB Local: %w", err)
	}
	defer ddb.Stop()
	client := devstack.NewDynamoDBClient(ddb.Endpoint())
	if err := dynamo.EnsureTable(ctx, client, dnsreroute.Template(), *table); err != nil {
		return fmt.Errorf("create table %s: %w", *table, err)
	}

	// Short TTLs so that a route added with `routes add` answers within a second.
	resolver := redirect.NewResolver(dynamo.New(client, *table), redirect.Config{
		ServiceHost: devServiceHost,
		PositiveTTL: time.Second,
		NegativeTTL: time.Second,
	}, time.Now, log)
	ln, err := net.Listen("tcp", *redirectAddr)
	if err != nil {
		return fmt.Errorf("redirector: %w", err)
	}
	srv := &http.Server{Handler: redirect.NewHandler(resolver, false), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, `DNSReRoute is running locally (Ctrl-C stops everything):
  redirector      http://%[1]s   (try: curl -i -H 'Host: old.example.com' http://%[1]s/some/path?x=1)
  health          http://localhost:%[2]s/healthz
  DynamoDB Local  %[3]s   table %[4]s, data in %[5]s
Add a route:      go run ./cmd/dnsreroute routes add old.example.com https://new.example.org/ -keep-path
`, ln.Addr(), portOf(ln.Addr()), ddb.Endpoint(), *table, *dataDir)
	err = serveUntilDone(ctx, srv, ln)
	fmt.Fprintln(stdout, "stopped")
	return err
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}
