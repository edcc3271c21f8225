package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/routeimport"
)

// importRoutes imports a Cloudflare Bulk Redirects CSV file or a file in the
// service's JSON format into org, as the API's import does (the same parser and
// the same all-or-nothing checks, in the org's own plan); with dryRun it prints
// what each line would do and writes nothing.
func importRoutes(ctx context.Context, store reroute.RouteStore, org reroute.Org, path, format string, dryRun bool,
	rules reroute.Rules, newDomain func(string) reroute.Domain, stdout io.Writer) error {
	in := io.Reader(os.Stdin)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	if format == "" {
		format = "csv"
		if strings.HasSuffix(strings.ToLower(path), ".json") {
			format = "json"
		}
	}
	var file routeimport.File
	var err error
	switch format {
	case "csv":
		file, err = routeimport.ParseCSV(in)
	case "json":
		file, err = routeimport.ParseJSON(in)
	default:
		return fmt.Errorf("-format is csv or json, not %q", format)
	}
	if err != nil {
		return err
	}
	if org.RuleLimit == 0 {
		// An org saved before rule limits existed: its plan's.
		if p, ok := reroute.DefaultCatalog().Get(org.Plan); ok {
			org.RuleLimit = p.RuleLimit
		}
	}
	deps := routeimport.Deps{Store: store, Rules: rules, NewDomain: newDomain, Now: time.Now}
	res, err := routeimport.Import(ctx, deps, org, file, dryRun)
	var refused *routeimport.Error
	if errors.As(err, &refused) {
		var b strings.Builder
		fmt.Fprintf(&b, "nothing imported: %d line(s) refused", len(refused.Errors))
		for _, le := range refused.Errors {
			b.WriteString("\n  ")
			b.WriteString(le.String())
		}
		return errors.New(b.String())
	}
	if dryRun {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LINE\tACTION\tHOSTS\tREASON")
		for _, l := range res.Lines {
			reason := l.Reason
			if l.Field != "" {
				reason = l.Field + ": " + reason
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", l.Line, l.Action, strings.Join(l.Hosts, " "), reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if err != nil {
		return err // a write failed midway: the error names what was written
	}
	s := res.Summary
	verb := "imported"
	if dryRun {
		verb = "would import (dry run, nothing written)"
	}
	fmt.Fprintf(stdout, "%s %d of %d lines: %d created, %d updated, %d unchanged; %d route(s) created, %d updated\n",
		verb, s.Create+s.Update+s.Unchanged, len(res.Lines), s.Create, s.Update, s.Unchanged, res.RoutesCreated, res.RoutesUpdated)
	if dryRun && s.Error > 0 {
		return fmt.Errorf("%d line(s) would be refused: the import would write nothing", s.Error)
	}
	return nil
}

// exportRoutes writes org's routes and rules to stdout as a Cloudflare Bulk
// Redirects CSV file or in the service's JSON format.
func exportRoutes(ctx context.Context, store reroute.RouteStore, org reroute.Org, format string, stdout io.Writer) error {
	routes, err := routeimport.Export(ctx, store, org.ID)
	if err != nil {
		return err
	}
	switch format {
	case "", "csv":
		return bulk.WriteCSV(stdout, routes)
	case "json":
		return bulk.WriteJSON(stdout, routes)
	}
	return fmt.Errorf("-format is csv or json, not %q", format)
}
