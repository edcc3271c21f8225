package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dnsreroute/dnsreroute/shared/analytics"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
)

// runAnalytics ingests CloudFront standard log files (W3C or JSON lines, gzip
// or plain) into the local table's counters, each once: a file is named by its
// absolute path, so ingesting it again changes nothing.
func runAnalytics(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ingest" {
		fmt.Fprintln(stderr, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("analytics ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	local := addLocalFlags(fs, getenv)
	var files []string
	rest := args[1:]
	for { // flags before or after the files
		if err := fs.Parse(rest); err != nil {
			return errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) == 0 {
		return errors.New("analytics ingest wants one or more log files: dnsreroute analytics ingest FILE [FILE ...]")
	}
	stack, err := local.resolve()
	if err != nil {
		return err
	}
	if err := stack.check(ctx); err != nil {
		return err
	}
	store := dynamo.New(stack.client(), stack.table)
	for _, name := range files {
		abs, err := filepath.Abs(name)
		if err != nil {
			return err
		}
		f, err := os.Open(abs) //nolint:gosec // G304: files the operator names on the command line
		if err != nil {
			return err
		}
		st, err := analytics.Ingest(ctx, store, "file://"+abs, f)
		f.Close()
		if err != nil {
			return err
		}
		note := ""
		if st.Duplicates > 0 && st.Duplicates == st.Parts {
			note = " (ingested before: nothing changed)"
		}
		fmt.Fprintf(stdout, "%s: %d lines, %d counted, %d malformed, %d for hosts without a route%s\n",
			name, st.Lines, st.Counted, st.Malformed, st.Unrouted, note)
		if len(st.UnroutedHosts) > 0 {
			fmt.Fprintf(stdout, "  hosts without a route: %v\n", st.UnroutedHosts)
		}
	}
	return nil
}
