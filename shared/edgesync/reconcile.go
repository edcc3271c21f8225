package edgesync

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	"golang.org/x/sync/errgroup"

	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Report is what a reconciliation found and fixed.
type Report struct {
	Routes  int // routes considered
	AtEdge  int // of them, served at the edge
	Puts    int // keys written: missing from the store, or with another value
	Deletes int // keys removed: no route wants them
	// Hosts are the hosts whose keys changed; Moved those of them whose place
	// (edge or origin) changed from what their edge record said.
	Hosts, Moved int
	// Records are the edge records written; Orphans the edge records deleted
	// (of routes gone).
	Records, Orphans int
}

// listPage is ListKeys' largest page: "MaxResults ... Valid Range: Minimum
// value of 1. Maximum value of 50."
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_ListKeys.html).
const listPage = 50

// Reconcile makes the store hold exactly what the table says: it reads every
// route of every live org, decides which the budget holds (edgekvs.Select:
// paid plans first, then the oldest), lists the store, and writes the one
// difference between the two (in UpdateKeys of at most 50 keys, with the
// store's ETag: a store changed meanwhile starts it over). Then it writes every
// route's edge record and deletes those of routes gone.
func (s *Syncer) Reconcile(ctx context.Context) (Report, error) {
	for attempt := 1; ; attempt++ {
		rep, err := s.reconcileOnce(ctx)
		if !errors.Is(err, errStale) || attempt == maxAttempts {
			if err == nil {
				s.log.InfoContext(ctx, "edge reconciliation", "routes", rep.Routes, "atEdge", rep.AtEdge,
					"puts", rep.Puts, "deletes", rep.Deletes, "hosts", rep.Hosts, "moved", rep.Moved,
					"records", rep.Records, "orphans", rep.Orphans)
			}
			return rep, err
		}
		if err := sleep(ctx, backoffBase*(1<<attempt)); err != nil {
			return Report{}, err
		}
	}
}

func (s *Syncer) reconcileOnce(ctx context.Context) (Report, error) {
	etag, _, err := s.describe(ctx)
	if err != nil {
		return Report{}, err
	}
	at := s.now().UTC()
	inv, err := s.store.EdgeInventory(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("reading the table: %w", err)
	}
	cands, err := s.candidates(ctx, inv)
	if err != nil {
		return Report{}, err
	}
	sel := edgekvs.Select(cands, s.cfg.Budget-edgekvs.Size(s.config))
	want := map[string]string{}
	owner := map[string]string{} // key -> host
	for _, r := range s.config {
		want[r.Key] = r.Value
	}
	for _, x := range sel {
		for _, r := range x.Records {
			want[r.Key], owner[r.Key] = r.Value, x.Host
		}
	}
	have, err := s.listKeys(ctx)
	if err != nil {
		return Report{}, err
	}
	var u updates
	changed := map[string]bool{}
	hostKey := map[string]bool{}
	for _, x := range sel {
		if len(x.Records) > 0 {
			hostKey[x.Records[0].Key] = true
		}
	}
	for k, v := range want {
		if cur, ok := have[k]; !ok || cur != v {
			r := edgekvs.Record{Key: k, Value: v}
			if hostKey[k] || k == edgekvs.ConfigKey {
				u.hostPuts = append(u.hostPuts, r)
			} else {
				u.rulePuts = append(u.rulePuts, r)
			}
			changed[owner[k]] = true
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			u.deletes = append(u.deletes, k)
			changed[edgekvs.HostOf(k)] = true
		}
	}
	if err := s.apply(ctx, etag, u); err != nil {
		return Report{}, err
	}
	s.setConfigOK()
	rep := Report{Routes: len(sel), Puts: len(u.rulePuts) + len(u.hostPuts), Deletes: len(u.deletes)}
	delete(changed, "")
	rep.Hosts = len(changed)
	live := map[string]bool{}
	for _, x := range sel {
		live[x.Host] = true
		st := x.Edge
		st.SyncedAt = at
		if st.ServedFrom == reroute.ServedAtEdge {
			rep.AtEdge++
		}
		if old, ok := inv.Records[x.Host]; changed[x.Host] && (!ok || old.Status.ServedFrom != st.ServedFrom) {
			rep.Moved++
		}
		if err := s.store.PutEdgeRecord(ctx, reroute.EdgeRecord{Host: x.Host, Status: st, Keys: keysOf(x.Records), Digest: digest(x.Records)}); err != nil {
			return rep, fmt.Errorf("writing the edge record of %s: %w", x.Host, err)
		}
		rep.Records++
	}
	for h := range inv.Records {
		if !live[h] {
			if err := s.store.DeleteEdgeRecord(ctx, h, at); err != nil {
				return rep, fmt.Errorf("deleting the edge record of %s: %w", h, err)
			}
			rep.Orphans++
		}
	}
	return rep, nil
}

// candidates reads every route of the inventory in full (rules, paused), a few
// at once; a route gone meanwhile is left out.
func (s *Syncer) candidates(ctx context.Context, inv reroute.EdgeInventory) ([]edgekvs.Candidate, error) {
	var mu sync.Mutex
	var out []edgekvs.Candidate
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, ref := range inv.Routes {
		g.Go(func() error {
			r, err := s.store.GetRoute(gctx, ref.Host)
			if reroute.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading route %s: %w", ref.Host, err)
			}
			org, ok := inv.Orgs[r.OrgID]
			paid := ok && reroute.Plan{Name: org.Plan}.Paid()
			mu.Lock()
			out = append(out, edgekvs.Candidate{Route: r, Paid: paid})
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// listKeys reads the whole store.
func (s *Syncer) listKeys(ctx context.Context) (map[string]string, error) {
	have := map[string]string{}
	p := kvs.NewListKeysPaginator(s.kvs, &kvs.ListKeysInput{KvsARN: aws.String(s.cfg.ARN), MaxResults: aws.Int32(listPage)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the KeyValueStore: %w", err)
		}
		for _, it := range page.Items {
			have[aws.ToString(it.Key)] = aws.ToString(it.Value)
		}
	}
	return have, nil
}
