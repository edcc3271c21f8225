package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/dnsreroute/dnsreroute"
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
	local := addLocalFlags(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	stack, err := local.resolve()
	if err != nil {
		return err
	}
	if err := dynamo.EnsureTable(ctx, stack.client(), dnsreroute.Template(), stack.table); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s is ready at %s\n", stack.table, stack.endpoint)
	return nil
}
