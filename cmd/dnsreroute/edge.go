package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/envconfig"
	"github.com/dnsreroute/dnsreroute/shared/redirect"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// maxExportedOrgs bounds the orgs `edge kvs` reads from a local table.
const maxExportedOrgs = 100_000

// runEdge prints, as a KeyValueStore import file, what the edge sync would
// write for every route of the local table: the same Encode, Select and
// ConfigRecords. cloudfront/emulate.mjs runs the viewer-request function on it.
func runEdge(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "kvs" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("edge kvs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := addLocalFlags(fs, getenv)
	env := envconfig.New(getenv)
	permanent := fs.Duration("permanent-max-age", env.Duration("REDIRECT_MAX_AGE", redirect.DefaultPermanentMaxAge), "Cache-Control max-age of 301 and 308 answers (REDIRECT_MAX_AGE)")
	negative := fs.Duration("negative-ttl", env.Duration("NEGATIVE_CACHE_TTL", redirect.DefaultNegativeTTL), "Cache-Control max-age of 410 answers (NEGATIVE_CACHE_TTL)")
	if err := env.Err(); err != nil {
		return err
	}
	if _, err := parse(fs, args[1:], 0, ""); err != nil {
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
	orgs, more, err := dynamo.ScanOrgs(ctx, stack.client(), stack.table, maxExportedOrgs)
	if err != nil {
		return err
	}
	if more {
		return fmt.Errorf("the table has more than %d orgs: too many for a local export", maxExportedOrgs)
	}
	var cands []edgekvs.Candidate
	for _, org := range orgs {
		page := reroute.PageRequest{Limit: reroute.MaxPageSize}
		for {
			p, err := store.ListRoutes(ctx, org.ID, page)
			if err != nil {
				return err
			}
			for _, listed := range p.Items {
				r, err := store.GetRoute(ctx, listed.Host) // with its rules
				if err != nil {
					return err
				}
				cands = append(cands, edgekvs.Candidate{Route: r, Paid: org.Plan != reroute.PlanFree})
			}
			if p.NextCursor == "" {
				break
			}
			page.Cursor = p.NextCursor
		}
	}
	cfg := edgekvs.Config{PermanentMaxAge: *permanent, NegativeTTL: *negative}
	recs := edgekvs.ConfigRecords(cfg)
	atEdge := 0
	for _, s := range edgekvs.Select(cands, edgekvs.Budget(cfg)) {
		recs = append(recs, s.Records...)
		if s.Edge.ServedFrom == reroute.ServedAtEdge {
			atEdge++
		} else {
			fmt.Fprintf(stderr, "%s: served by the origin (%s)\n", s.Host, s.Edge.Reason)
		}
	}
	fmt.Fprintf(stderr, "%d of %d routes at the edge, %d records, %d of %d bytes\n", atEdge, len(cands), len(recs), edgekvs.Size(recs), edgekvs.StoreBytes)
	return edgekvs.WriteImportFile(stdout, recs)
}
