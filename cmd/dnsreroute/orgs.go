package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// runOrgs is the operator's `orgs add`: an org without members on a chosen plan,
// for tools that need orgs of their own (benchmarks, imports for a customer who
// has not signed in yet). Customers' orgs are made through the API.
func runOrgs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("orgs add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := addLocalFlags(fs, getenv)
	name := fs.String("name", "", "the org's name (default: its id)")
	planName := fs.String("plan", reroute.PlanFree, "the plan whose limits the org gets: free, developer or enterprise")
	pos, err := parse(fs, args[1:], 1, "ID")
	if err != nil {
		return err
	}
	plan, ok := reroute.DefaultCatalog().Get(*planName)
	if !ok {
		return fmt.Errorf("no plan %q: use free, developer or enterprise", *planName)
	}
	stack, err := local.resolve()
	if err != nil {
		return err
	}
	if err := stack.check(ctx); err != nil {
		return err
	}
	org := reroute.Org{ID: pos[0], Name: *name, Plan: plan.Name, RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit, RuleLimit: plan.RuleLimit, CreatedAt: time.Now().UTC()}
	if org.Name == "" {
		org.Name = org.ID
	}
	err = dynamo.New(stack.client(), stack.table).CreateOrg(ctx, org, reroute.Member{})
	var e *reroute.Error
	if errors.As(err, &e) && e.Reason == "org_exists" {
		return fmt.Errorf("an org %s exists already", org.ID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %s: %s plan, up to %d routes\n", orgName(org), plan.Name, plan.RouteLimit)
	return nil
}
