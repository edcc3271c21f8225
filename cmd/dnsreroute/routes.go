package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

func runRoutes(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("routes "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := addLocalFlags(fs, getenv)
	orgID := fs.String("org", "", "id of the org whose routes these are (default: the only org of -user, or the only org in the table)")
	user := fs.String("user", "", "email of a member: choose among their orgs")
	status := fs.Int("status", reroute.DefaultStatus, "redirect status: 301, 302, 307 or 308")
	keepPath := fs.Bool("keep-path", false, "append the request path to the target's path")
	keepQuery := fs.Bool("keep-query", false, "merge the request query into the target's")
	disabled := fs.Bool("disabled", false, "add the route switched off")
	serviceHost := fs.String("service-host", devServiceHost, "the service's own hostname, which no route may use")
	format := fs.String("format", "", "import and export: csv (Cloudflare Bulk Redirects) or json (this service's format); import's default is json for a .json file, else csv")
	dryRun := fs.Bool("dry-run", false, "import: print what each line would do, and write nothing")

	var want struct {
		n     int
		names string
	}
	switch args[0] {
	case "add":
		want.n, want.names = 2, "HOST TARGET"
	case "import":
		want.n, want.names = 1, "FILE"
	case "export", "list":
	case "rm", "remove", "delete":
		want.n, want.names = 1, "HOST"
	default:
		fmt.Fprintf(stderr, "unknown routes command %q\n%s\n", args[0], usage)
		return errUsage
	}
	pos, err := parse(fs, args[1:], want.n, want.names)
	if err != nil {
		return err
	}
	stack, err := local.resolve()
	if err != nil {
		return err
	}
	if err := stack.check(ctx); err != nil {
		return err
	}
	store := dynamo.New(stack.client(), stack.table)
	org, err := chooseOrg(ctx, stack, store, *orgID, *user)
	if err != nil {
		return err
	}
	// Routes are made as the API makes them, in the org's own plan: the store
	// refuses one beyond its route limit, in the same transaction.
	newRoute := func(host, target string, status int) (reroute.Route, error) {
		now := time.Now().UTC()
		r := reroute.Route{Host: host, Target: target, OrgID: org.ID, Status: status, KeepPath: *keepPath, KeepQuery: *keepQuery, Enabled: !*disabled,
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
		r, err := newRoute(pos[0], pos[1], *status)
		if err != nil {
			return err
		}
		if err := store.CreateRoute(ctx, r); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s -> %s (%d) to %s\n", r.Host, r.Target, r.Status, orgName(org))
		return nil
	case "import":
		newDomain := func(host string) reroute.Domain {
			return reroute.DomainPolicy{}.NewDomain(host, *serviceHost, time.Now().UTC())
		}
		return importRoutes(ctx, store, org, pos[0], *format, *dryRun, reroute.Rules{ServiceHost: *serviceHost}, newDomain, stdout)
	case "export":
		return exportRoutes(ctx, store, org, *format, stdout)
	case "list":
		fmt.Fprintf(stdout, "%s: %s plan, %d of %d routes\n", orgName(org), org.Plan, org.RouteCount, org.RouteLimit)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HOST\tTARGET\tSTATUS\tKEEP PATH\tKEEP QUERY\tENABLED\tRULES")
		page := reroute.PageRequest{Limit: reroute.MaxPageSize}
		for {
			p, err := store.ListRoutes(ctx, org.ID, page)
			if err != nil {
				return err
			}
			for _, r := range p.Items {
				target := r.Target
				if target == "" {
					target = "-" // path rules only
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%t\t%t\t%t\t%d\n", r.Host, target, r.Status, r.KeepPath, r.KeepQuery, r.Enabled, r.RuleCount)
			}
			if p.NextCursor == "" {
				return tw.Flush()
			}
			page.Cursor = p.NextCursor
		}
	default: // rm
		host, err := reroute.NormalizeHost(pos[0])
		if err != nil {
			return err
		}
		if err := store.DeleteRoute(ctx, org.ID, host); err != nil {
			if reroute.IsNotFound(err) {
				return fmt.Errorf("%s has no route %s", orgName(org), host)
			}
			return err
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", host, orgName(org))
		return nil
	}
}

// orgName names an org in the command's output.
func orgName(o reroute.Org) string { return fmt.Sprintf("org %q (%s)", o.Name, o.ID) }

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
