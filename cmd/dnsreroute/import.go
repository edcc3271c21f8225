package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// importRoutes adds the routes of a CSV file (host,target[,status]; "#" comments)
// to org, validating every line, and that they fit in the org's plan, before
// writing any, then writing a few at a time (the store still refuses each route
// beyond the limit, should others be added meanwhile).
func importRoutes(ctx context.Context, store reroute.RouteStore, org reroute.Org, path string, defStatus int,
	newRoute func(host, target string, status int) (reroute.Route, error), stdout io.Writer) error {
	in := io.Reader(os.Stdin)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	rd := csv.NewReader(in)
	rd.Comment, rd.FieldsPerRecord, rd.TrimLeadingSpace = '#', -1, true
	var routes []reroute.Route
	var problems []error
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := rd.FieldPos(0)
		if err != nil {
			return err
		}
		if len(rec) < 2 || len(rec) > 3 {
			problems = append(problems, fmt.Errorf("line %d: want host,target[,status]", line))
			continue
		}
		status := defStatus
		if len(rec) == 3 {
			if status, err = strconv.Atoi(strings.TrimSpace(rec[2])); err != nil {
				problems = append(problems, fmt.Errorf("line %d: status %q is not a number", line, rec[2]))
				continue
			}
		}
		r, err := newRoute(rec[0], strings.TrimSpace(rec[1]), status)
		if err != nil {
			problems = append(problems, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		routes = append(routes, r)
	}
	if len(problems) > 0 {
		return fmt.Errorf("nothing imported:\n%w", errors.Join(problems...))
	}
	if room := org.RouteLimit - org.RouteCount; len(routes) > room {
		return fmt.Errorf("nothing imported: the file has %d routes, and the %s plan of %s allows %d, of which it has %d: upgrade, or remove routes",
			len(routes), org.Plan, orgName(org), org.RouteLimit, org.RouteCount)
	}

	const workers = 16
	work := make(chan reroute.Route)
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range work {
				if err := store.CreateRoute(ctx, r); err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("%s: %w", r.Host, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, r := range routes {
		work <- r
	}
	close(work)
	wg.Wait()
	fmt.Fprintf(stdout, "imported %d of %d routes\n", len(routes)-len(failed), len(routes))
	return errors.Join(failed...)
}
