// Package edgesync keeps the CloudFront KeyValueStore that the viewer-request
// function answers redirects from in step with the table: a sync of the
// hostnames a change touched (fed by the table's stream), and a full
// reconciliation that repairs any drift (run on a schedule).
//
// It always publishes the route as DynamoDB holds it now (read again,
// consistently), never a stream image, so that replayed, duplicated and
// reordered events change nothing. Writes carry the store's ETag: the store is
// described before the routes are read, so a write that succeeds was computed
// from reads made after every write before it; one that finds the store
// changed (a stale ETag) reads the store and the routes again and retries.
//
// What was published for each hostname is kept in its edge record (the keys,
// so that a later sync deletes those no longer wanted, and where the route is
// served from, which the API shows).
package edgesync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	kvstypes "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"
	"golang.org/x/sync/errgroup"

	"github.com/dnsreroute/dnsreroute/shared/edgekvs"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Store is what the sync reads and writes of the table.
type Store interface {
	// GetRoute reads a route with its rules, consistently, and whether it is paused.
	GetRoute(ctx context.Context, host string) (reroute.Route, error)
	ListRoutes(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Route], error)
	EdgeRecords(ctx context.Context, hosts []string) (map[string]reroute.EdgeRecord, error)
	PutEdgeRecord(ctx context.Context, rec reroute.EdgeRecord) error
	DeleteEdgeRecord(ctx context.Context, host string, syncedAt time.Time) error
	// EdgeInventory reads every live org, route and edge record (a full scan).
	EdgeInventory(ctx context.Context) (reroute.EdgeInventory, error)
}

// KVS is the part of the KeyValueStore data plane the sync calls;
// *cloudfrontkeyvaluestore.Client implements it.
type KVS interface {
	DescribeKeyValueStore(ctx context.Context, in *kvs.DescribeKeyValueStoreInput, optFns ...func(*kvs.Options)) (*kvs.DescribeKeyValueStoreOutput, error)
	ListKeys(ctx context.Context, in *kvs.ListKeysInput, optFns ...func(*kvs.Options)) (*kvs.ListKeysOutput, error)
	GetKey(ctx context.Context, in *kvs.GetKeyInput, optFns ...func(*kvs.Options)) (*kvs.GetKeyOutput, error)
	UpdateKeys(ctx context.Context, in *kvs.UpdateKeysInput, optFns ...func(*kvs.Options)) (*kvs.UpdateKeysOutput, error)
}

// UpdateKeys limits: "Maximum number of keys in an UpdateKeys request: 50" and
// "Maximum request payload size for UpdateKeys: 3 MB"
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html,
// "Quotas on key value stores"; the request itself:
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html).
// The payload bound here leaves room for the JSON around the keys and values.
const (
	maxUpdateKeys  = 50
	maxUpdateBytes = 2 << 20
	// jsonPerKey bounds the JSON one put adds besides its key and value
	// ({"Key":"","Value":""}, and escapes are rare in hostnames and paths).
	jsonPerKey = 32
)

// DefaultHeadroom is what the default budget leaves free of the store's 5 MB:
// room for syncs racing for the last bytes, and for a growing config record.
const DefaultHeadroom = 256 << 10

// Config configures a Syncer.
type Config struct {
	ARN string // the KeyValueStore's ARN
	// Budget bounds the store's TotalSizeInBytes, the config record included;
	// 0 is edgekvs.StoreBytes - DefaultHeadroom.
	Budget int
	// Edge is what the function needs besides the routes (the config record).
	Edge edgekvs.Config
	// Concurrency bounds the routes read at once; 0 is 8.
	Concurrency int
}

// Syncer publishes routes to the KeyValueStore. It is safe for concurrent use.
type Syncer struct {
	store  Store
	kvs    KVS
	cfg    Config
	config []edgekvs.Record
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	configOK bool // the config record was seen in the store, as it should be
}

// New returns a Syncer.
func New(store Store, client KVS, cfg Config, log *slog.Logger) (*Syncer, error) {
	if cfg.ARN == "" {
		return nil, errors.New("edgesync: no KeyValueStore ARN")
	}
	if cfg.Budget == 0 {
		cfg.Budget = edgekvs.StoreBytes - DefaultHeadroom
	}
	config := edgekvs.ConfigRecords(cfg.Edge)
	if cfg.Budget <= edgekvs.Size(config) || cfg.Budget > edgekvs.StoreBytes {
		return nil, fmt.Errorf("edgesync: budget %d bytes, want more than the config record and at most %d", cfg.Budget, edgekvs.StoreBytes)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	return &Syncer{store: store, kvs: client, cfg: cfg, config: config, log: log, now: time.Now}, nil
}

// Retries of a write that found the store changed since it was described.
const (
	maxAttempts = 6
	backoffBase = 20 * time.Millisecond
	backoffMax  = time.Second
)

// HostError is a host the sync could not publish, and why.
type HostError struct {
	Host string
	Err  error
}

func (e *HostError) Error() string { return "syncing " + e.Host + ": " + e.Err.Error() }
func (e *HostError) Unwrap() error { return e.Err }

// SyncHosts publishes the current state of hosts' routes: a route's records
// (or its placeholder: disabled, paused, too large, or no room left in the
// budget: "store_full"), and the deletion of every key it published before and
// no longer needs; a route gone loses all its keys and its edge record. All the
// hosts' changes go out together, in UpdateKeys of at most 50 keys. failed
// holds the hosts whose routes could not be read (the others are published);
// err is set when nothing could be published.
func (s *Syncer) SyncHosts(ctx context.Context, hosts []string) (failed []HostError, err error) {
	hosts = uniq(hosts)
	if len(hosts) == 0 {
		return nil, nil
	}
	backoff := backoffBase
	for attempt := 1; ; attempt++ {
		failed, err = s.syncOnce(ctx, hosts)
		if !errors.Is(err, errStale) || attempt == maxAttempts {
			return failed, err
		}
		s.log.InfoContext(ctx, "edge sync: the store changed meanwhile, again", "attempt", attempt)
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+time.Millisecond); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// errStale says that the store changed since it was described.
var errStale = errors.New("the KeyValueStore changed since it was described")

// hostPlan is what one sync does for one host.
type hostPlan struct {
	host    string
	gone    bool // the route is gone: delete its keys and its edge record
	recs    []edgekvs.Record
	status  reroute.EdgeStatus
	deletes []string
	same    bool // the store already holds recs as published: nothing to write
	old     reroute.EdgeRecord
}

func (s *Syncer) syncOnce(ctx context.Context, hosts []string) ([]HostError, error) {
	etag, total, err := s.describe(ctx)
	if err != nil {
		return nil, err
	}
	at := s.now().UTC()
	routes, failed := s.readRoutes(ctx, hosts)
	recs, err := s.store.EdgeRecords(ctx, hosts)
	if err != nil {
		return nil, err
	}
	var ops updates
	if !s.isConfigOK() {
		if put, err := s.configPut(ctx); err != nil {
			return nil, err
		} else if put != nil {
			ops.hostPuts = append(ops.hostPuts, *put)
			total += edgekvs.Size([]edgekvs.Record{*put})
		}
	}
	var plans []hostPlan
	for _, h := range hosts {
		r, ok := routes[h]
		if !ok && failedHost(failed, h) {
			continue
		}
		old, had := recs[h]
		p := hostPlan{host: h, old: old}
		if r == nil {
			if !had {
				continue // never published, nothing to remove
			}
			p.gone = true
			p.deletes = old.Keys
			total -= old.Status.Bytes
		} else {
			rs, reason, edge := edgekvs.Encode(*r)
			size := edgekvs.Size(rs)
			if edge && total-old.Status.Bytes+size > s.cfg.Budget {
				rs, reason, edge = []edgekvs.Record{edgekvs.Placeholder(h)}, edgekvs.ReasonStoreFull, false
				size = edgekvs.Size(rs)
			}
			total += size - old.Status.Bytes
			p.recs = rs
			from := reroute.ServedAtEdge
			if !edge {
				from = reroute.ServedByOrigin
			}
			p.status = reroute.EdgeStatus{ServedFrom: from, Reason: reason, Records: len(rs), Bytes: size, SyncedAt: at}
			keep := make(map[string]bool, len(rs))
			for _, rec := range rs {
				keep[rec.Key] = true
			}
			for _, k := range old.Keys {
				if !keep[k] {
					p.deletes = append(p.deletes, k)
				}
			}
			p.same = had && old.Digest == digest(rs) && old.Status.ServedFrom == from && old.Status.Reason == reason
		}
		if !p.same {
			ops.add(p.recs, p.deletes)
		}
		plans = append(plans, p)
	}
	if err := s.apply(ctx, etag, ops); err != nil {
		return nil, err
	}
	if len(ops.hostPuts) > 0 && !s.isConfigOK() {
		s.setConfigOK()
	}
	for _, p := range plans {
		var err error
		switch {
		case p.same:
			continue
		case p.gone:
			err = s.store.DeleteEdgeRecord(ctx, p.host, at)
		default:
			err = s.store.PutEdgeRecord(ctx, reroute.EdgeRecord{Host: p.host, Status: p.status, Keys: keysOf(p.recs), Digest: digest(p.recs)})
		}
		if err != nil {
			// The keys are out; a record behind them only costs a later
			// sync a refused delete, which it recovers from.
			failed = append(failed, HostError{p.host, fmt.Errorf("writing its edge record: %w", err)})
		}
	}
	return failed, nil
}

func failedHost(failed []HostError, h string) bool {
	return slices.ContainsFunc(failed, func(e HostError) bool { return e.Host == h })
}

// readRoutes reads hosts' routes, a few at once: nil for a route gone.
func (s *Syncer) readRoutes(ctx context.Context, hosts []string) (map[string]*reroute.Route, []HostError) {
	var mu sync.Mutex
	out := make(map[string]*reroute.Route, len(hosts))
	var failed []HostError
	var g errgroup.Group
	g.SetLimit(s.cfg.Concurrency)
	for _, h := range hosts {
		g.Go(func() error {
			r, err := s.store.GetRoute(ctx, h)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case reroute.ErrorCode(err) == reroute.CodeNotFound:
				out[h] = nil
			case err != nil:
				failed = append(failed, HostError{h, err})
			default:
				out[h] = &r
			}
			return nil
		})
	}
	_ = g.Wait()
	return out, failed
}

func (s *Syncer) isConfigOK() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.configOK }
func (s *Syncer) setConfigOK()     { s.mu.Lock(); s.configOK = true; s.mu.Unlock() }

// configPut is the put of the config record when the store lacks it or holds
// another; nil when it holds it.
func (s *Syncer) configPut(ctx context.Context) (*edgekvs.Record, error) {
	want := s.config[0]
	out, err := s.kvs.GetKey(ctx, &kvs.GetKeyInput{KvsARN: aws.String(s.cfg.ARN), Key: aws.String(want.Key)})
	var nf *kvstypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return &want, nil
	case err != nil:
		return nil, fmt.Errorf("reading the config record: %w", err)
	case aws.ToString(out.Value) != want.Value:
		return &want, nil
	}
	s.setConfigOK()
	return nil, nil
}

// describe reads the store's ETag and size.
func (s *Syncer) describe(ctx context.Context) (etag string, size int, err error) {
	out, err := s.kvs.DescribeKeyValueStore(ctx, &kvs.DescribeKeyValueStoreInput{KvsARN: aws.String(s.cfg.ARN)})
	if err != nil {
		return "", 0, fmt.Errorf("describing the KeyValueStore: %w", err)
	}
	return aws.ToString(out.ETag), int(aws.ToInt64(out.TotalSizeInBytes)), nil
}

// updates are the changes of one sync, in the order they go out: rule records
// first, then the host records that name them (and the config record), then
// the deletes of what no host record names any more, so that the function
// never finds a host record whose rules are not there yet.
type updates struct {
	rulePuts, hostPuts []edgekvs.Record
	deletes            []string
}

func (u *updates) add(recs []edgekvs.Record, deletes []string) {
	for i, r := range recs {
		if i == 0 {
			u.hostPuts = append(u.hostPuts, r) // Encode puts the host record first
		} else {
			u.rulePuts = append(u.rulePuts, r)
		}
	}
	u.deletes = append(u.deletes, deletes...)
}

func (u updates) empty() bool { return len(u.rulePuts)+len(u.hostPuts)+len(u.deletes) == 0 }

// batch is one UpdateKeys.
type batch struct {
	puts    []kvstypes.PutKeyRequestListItem
	deletes []kvstypes.DeleteKeyRequestListItem
}

// batches splits u into UpdateKeys within the request limits, in order.
func (u updates) batches() []batch {
	var out []batch
	var cur batch
	bytes := 0
	flush := func() {
		if len(cur.puts)+len(cur.deletes) > 0 {
			out = append(out, cur)
		}
		cur, bytes = batch{}, 0
	}
	room := func(n int) {
		if len(cur.puts)+len(cur.deletes) == maxUpdateKeys || bytes+n > maxUpdateBytes {
			flush()
		}
		bytes += n
	}
	for _, r := range slices.Concat(u.rulePuts, u.hostPuts) {
		room(len(r.Key) + len(r.Value) + jsonPerKey)
		cur.puts = append(cur.puts, kvstypes.PutKeyRequestListItem{Key: aws.String(r.Key), Value: aws.String(r.Value)})
	}
	// A key put in this sync is not also deleted (two hosts never share a key).
	for _, k := range u.deletes {
		room(len(k) + jsonPerKey)
		cur.deletes = append(cur.deletes, kvstypes.DeleteKeyRequestListItem{Key: aws.String(k)})
	}
	flush()
	return out
}

// apply sends u's batches, each with the ETag the previous one left; errStale
// when the store changed under them. A delete of a key the store does not
// hold (a record that says more than the store has) is dropped, and the batch
// sent again.
func (s *Syncer) apply(ctx context.Context, etag string, u updates) error {
	if u.empty() {
		return nil
	}
	for _, b := range u.batches() {
		var err error
		if etag, err = s.send(ctx, etag, b); err != nil {
			return err
		}
	}
	return nil
}

// send makes one UpdateKeys and returns the store's new ETag. A delete of a
// key the store does not hold is dropped, and the rest sent again.
func (s *Syncer) send(ctx context.Context, etag string, b batch) (string, error) {
	for {
		out, err := s.kvs.UpdateKeys(ctx, &kvs.UpdateKeysInput{
			KvsARN: aws.String(s.cfg.ARN), IfMatch: aws.String(etag), Puts: b.puts, Deletes: b.deletes,
		})
		var conflict *kvstypes.ConflictException
		var nf *kvstypes.ResourceNotFoundException
		switch {
		case err == nil:
			return aws.ToString(out.ETag), nil
		case errors.As(err, &conflict):
			return "", errStale
		case !errors.As(err, &nf) || len(b.deletes) == 0:
			return "", fmt.Errorf("updating the KeyValueStore: %w", err)
		}
		kept, err := s.existing(ctx, b.deletes)
		if err != nil {
			return "", err
		}
		if len(kept) == len(b.deletes) {
			return "", fmt.Errorf("updating the KeyValueStore: %w", nf)
		}
		if b.deletes = kept; len(b.puts)+len(b.deletes) == 0 {
			return etag, nil
		}
	}
}

// existing keeps the deletes of keys the store holds.
func (s *Syncer) existing(ctx context.Context, dels []kvstypes.DeleteKeyRequestListItem) ([]kvstypes.DeleteKeyRequestListItem, error) {
	var kept []kvstypes.DeleteKeyRequestListItem
	for _, d := range dels {
		_, err := s.kvs.GetKey(ctx, &kvs.GetKeyInput{KvsARN: aws.String(s.cfg.ARN), Key: d.Key})
		var nf *kvstypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return nil, fmt.Errorf("reading key %q: %w", aws.ToString(d.Key), err)
		default:
			kept = append(kept, d)
		}
	}
	return kept, nil
}

// digest identifies a route's records, keys and values.
func digest(recs []edgekvs.Record) string {
	h := sha256.New()
	for _, r := range recs {
		h.Write([]byte(r.Key))
		h.Write([]byte{0})
		h.Write([]byte(r.Value))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func keysOf(recs []edgekvs.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	return out
}

func uniq(hosts []string) []string {
	out := slices.Clone(hosts)
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
}

// SyncOrgs publishes every route of the orgs (after a change of what pauses
// them: their plan, route limit or paused routes).
func (s *Syncer) SyncOrgs(ctx context.Context, orgIDs []string) ([]HostError, error) {
	var hosts []string
	for _, id := range uniq(orgIDs) {
		hs, err := s.orgHosts(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("listing the routes of org %s: %w", id, err)
		}
		hosts = append(hosts, hs...)
	}
	return s.SyncHosts(ctx, hosts)
}

func (s *Syncer) orgHosts(ctx context.Context, orgID string) ([]string, error) {
	var hosts []string
	page := reroute.PageRequest{Limit: reroute.MaxPageSize}
	for {
		p, err := s.store.ListRoutes(ctx, orgID, page)
		if reroute.ErrorCode(err) == reroute.CodeNotFound {
			return hosts, nil
		}
		if err != nil {
			return nil, err
		}
		for _, r := range p.Items {
			hosts = append(hosts, r.Host)
		}
		if p.NextCursor == "" {
			return hosts, nil
		}
		page.Cursor = p.NextCursor
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// hostOfPK is the host of a route partition's key ("HOST#<host>").
func hostOfPK(pk string) (string, bool) { return strings.CutPrefix(pk, "HOST#") }
