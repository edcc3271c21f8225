package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
)

// runTable creates the service's table, as template.yaml defines it, on a local
// DynamoDB (the deployed stack creates its own).
func runTable(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ensure" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("table ensure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr(getenv, "DYNAMODB_ENDPOINT", "http://127.0.0.1:"+strconv.Itoa(defaultDynamoPort)), "DynamoDB endpoint")
	table := fs.String("table", envOr(getenv, "TABLE_NAME", defaultTable), "table name")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if err := dynamo.EnsureTable(ctx, devstack.NewDynamoDBClient(*endpoint), dnsreroute.Template(), *table); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s is ready at %s\n", *table, *endpoint)
	return nil
}
