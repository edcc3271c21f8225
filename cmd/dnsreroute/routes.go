package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// defaultOrg owns the routes made from the command line unless -org names another;
// the org is made on first use.
const defaultOrg = "local"

func runRoutes(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("routes "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr(getenv, "DYNAMODB_ENDPOINT", "http://127.0.0.1:"+strconv.Itoa(defaultDynamoPort)), "DynamoDB endpoint")
	table := fs.String("table", envOr(getenv, "TABLE_NAME", defaultTable), "table name")
	org := fs.String("org", defaultOrg, "org that owns the routes")
	status := fs.Int("status", reroute.DefaultStatus, "redirect status: 301, 302, 307 or 308")
	keepPath := fs.Bool("keep-path", false, "append the request path to the target's path")
	keepQuery := fs.Bool("keep-query", false, "merge the request query into the target's")
	disabled := fs.Bool("disabled", false, "add the route switched off")
	serviceHost := fs.String("service-host", devServiceHost, "the service's own hostname, which no route may use")

	store := func() *dynamo.Store { return dynamo.New(devstack.NewDynamoDBClient(*endpoint), *table) }
	newRoute := func(host, target string, status int) (reroute.Route, error) {
		now := time.Now().UTC()
		r := reroute.Route{Host: host, Target: target, OrgID: *org, Status: status, KeepPath: *keepPath, KeepQuery: *keepQuery, Enabled: !*disabled,
			HTTPSRedirect: true, CreatedAt: now, UpdatedAt: now}
		if err := (reroute.Rules{ServiceHost: *serviceHost}).Normalize(&r); err != nil {
			return r, err
		}
		// Due at once: the local stack's domains worker takes it up, as it does a
		// route added through the API.
		r.Domain = reroute.DomainPolicy{}.NewDomain(r.Host, *serviceHost, now)
		return r, nil
	}
	switch args[0] {
	case "add":
		pos, err := parse(fs, args[1:], 2, "HOST TARGET")
		if err != nil {
			return err
		}
		r, err := newRoute(pos[0], pos[1], *status)
		if err != nil {
			return err
		}
		if err := ensureOrg(ctx, store(), *org); err != nil {
			return err
		}
		if err := store().CreateRoute(ctx, r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s -> %s (%d)\n", r.Host, r.Target, r.Status)
		return nil
	case "import":
		pos, err := parse(fs, args[1:], 1, "FILE")
		if err != nil {
			return err
		}
		if err := ensureOrg(ctx, store(), *org); err != nil {
			return err
		}
		return importRoutes(ctx, store(), pos[0], *status, newRoute, stdout)
	case "list":
		if _, err := parse(fs, args[1:], 0, ""); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tTARGET\tSTATUS\tKEEP PATH\tKEEP QUERY\tENABLED")
		page := reroute.PageRequest{Limit: reroute.MaxPageSize}
		for {
			p, err := store().ListRoutes(ctx, *org, page)
			if err != nil {
				return err
			}
			for _, r := range p.Items {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%t\t%t\t%t\n", r.Host, r.Target, r.Status, r.KeepPath, r.KeepQuery, r.Enabled)
			}
			if p.NextCursor == "" {
				return tw.Flush()
			}
			page.Cursor = p.NextCursor
		}
	case "rm", "remove", "delete":
		pos, err := parse(fs, args[1:], 1, "HOST")
		if err != nil {
			return err
		}
		host, err := reroute.NormalizeHost(pos[0])
		if err != nil {
			return err
		}
		if err := store().DeleteRoute(ctx, *org, host); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", host)
		return nil
	}
	fmt.Fprintf(stderr, "unknown routes command %q\n%s\n", args[0], usage)
	return errUsage
}

// ensureOrg creates the org the command line's routes go to, unless it exists: on
// the enterprise plan's limits and without members, since routes need an org to
// be counted on. An org made otherwise keeps its own plan and limits.
func ensureOrg(ctx context.Context, store reroute.OrgStore, id string) error {
	plan, ok := reroute.DefaultCatalog().Get(reroute.PlanEnterprise)
	if !ok {
		return fmt.Errorf("no %s plan in the catalog", reroute.PlanEnterprise)
	}
	now := time.Now().UTC()
	err := store.CreateOrg(ctx, reroute.Org{
		ID: id, Name: id, Plan: plan.Name, RouteLimit: plan.RouteLimit, MemberLimit: plan.MemberLimit,
		CreatedAt: now, UpdatedAt: now,
	}, reroute.Member{})
	if reroute.ErrorCode(err) == reroute.CodeConflict {
		return nil // it exists
	}
	return err
}

// parse reads flags given before or after the positional arguments, and checks
// that exactly n positional arguments were given.
func parse(fs *flag.FlagSet, args []string, n int, names string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != n {
		return nil, fmt.Errorf("%s wants %s, got %d arguments", fs.Name(), names, len(pos))
	}
	return pos, nil
}
