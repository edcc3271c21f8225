// Command dnsreroute runs the service on a developer's machine and manages its routes:
//
//	dnsreroute dev                                 DynamoDB Local and the redirector
//	dnsreroute serve                               the redirector alone, self-hosted
//	dnsreroute table ensure                        create the table if missing
//	dnsreroute routes add HOST TARGET [flags]      add a route
//	dnsreroute routes list [-org ID]               list an org's routes
//	dnsreroute routes rm HOST [-org ID]            remove a route
//	dnsreroute routes import FILE [-org ID]        import a Cloudflare Bulk Redirects CSV or JSON file
//	dnsreroute routes export [-org ID]             export routes and rules as CSV or JSON
//	dnsreroute orgs add ID [-plan P]               add an org without members on a plan
//	dnsreroute analytics ingest FILE...            count CloudFront log files in the local table
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage:
  dnsreroute dev [flags]                      run DynamoDB Local and the redirector
  dnsreroute serve [-addr HOST:PORT] [-stats-addr HOST:PORT]
                                              run the redirector alone (configured by environment)
  dnsreroute table ensure [flags]             create the table from template.yaml if missing
  dnsreroute routes add HOST TARGET [flags]   add a route
  dnsreroute routes list [flags]              list an org's routes
  dnsreroute routes rm HOST [flags]           remove a route
  dnsreroute routes import FILE [-format csv|json] [-dry-run] [flags]
                                              import a Cloudflare Bulk Redirects CSV file or a JSON export ("-" reads stdin)
  dnsreroute routes export [-format csv|json] [flags]
                                              write an org's routes and rules to stdout
  dnsreroute orgs add ID [-name N] [-plan P]  add an org without members on a plan (for the operator's own tools)
  dnsreroute edge kvs [flags]                 print the edge's KeyValueStore for every route, as a CloudFront import file
  dnsreroute analytics ingest FILE... [flags] count CloudFront standard log files (W3C or JSON lines, gzip or not), each once
Run a command with -h for its flags.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "dnsreroute:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "table":
		return runTable(ctx, args[1:], getenv, stdout, stderr)
	case "routes":
		return runRoutes(ctx, args[1:], getenv, stdout, stderr)
	case "orgs":
		return runOrgs(ctx, args[1:], getenv, stdout, stderr)
	case "edge":
		return runEdge(ctx, args[1:], getenv, stdout, stderr)
	case "analytics":
		return runAnalytics(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n%s\n", args[0], usage)
	return errUsage
}
