package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Domain attributes of a route item (and, for the refs, of a release item).
const (
	attrDomainState = "domainState"
	attrCheckedAt   = "checkedAt"
	attrVerifiedAt  = "verifiedAt"
	attrNextCheckAt = "nextCheckAt"
)

// domainAttrNames are every attribute domainAttrs may write: SaveDomain sets those
// present and removes the others.
var domainAttrNames = []string{attrDomainState, "domainReason", "tenantId", "certificateArn", "certificateRecords",
	attrVerifiedAt, "releaseAt", attrCheckedAt, attrNextCheckAt, "domainFailures", attrGSI2PK, attrGSI2SK}

// recordItem is a DNS record as stored.
type recordItem struct {
	Type    string `dynamodbav:"type"`
	Name    string `dynamodbav:"name"`
	Value   string `dynamodbav:"value"`
	Purpose string `dynamodbav:"purpose,omitempty"`
}

// domainAttrs are a route's domain, flattened into its item. A domain with a
// check due carries GSI2 keys, which put the route in the worker's queue.
type domainAttrs struct {
	DomainState    string       `dynamodbav:"domainState,omitempty"`
	DomainReason   string       `dynamodbav:"domainReason,omitempty"`
	TenantID       string       `dynamodbav:"tenantId,omitempty"`
	CertificateARN string       `dynamodbav:"certificateArn,omitempty"`
	CertRecords    []recordItem `dynamodbav:"certificateRecords,omitempty"`
	VerifiedAt     string       `dynamodbav:"verifiedAt,omitempty"`
	ReleaseAt      string       `dynamodbav:"releaseAt,omitempty"`
	CheckedAt      string       `dynamodbav:"checkedAt,omitempty"`
	NextCheckAt    string       `dynamodbav:"nextCheckAt,omitempty"`
	Failures       int          `dynamodbav:"domainFailures,omitempty"`
	GSI2PK         string       `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK         string       `dynamodbav:"GSI2SK,omitempty"`
}

func newDomainAttrs(host string, d reroute.Domain) domainAttrs {
	a := domainAttrs{
		DomainState: string(d.State), DomainReason: d.Reason,
		TenantID: d.Refs.TenantID, CertificateARN: d.Refs.CertificateARN,
		VerifiedAt: formatTime(d.VerifiedAt), ReleaseAt: formatTime(d.ReleaseAt),
		CheckedAt: formatTime(d.CheckedAt), NextCheckAt: formatTime(d.NextCheckAt),
		Failures: d.Failures,
	}
	for _, r := range d.CertificateRecords {
		a.CertRecords = append(a.CertRecords, recordItem(r))
	}
	if a.NextCheckAt != "" {
		a.GSI2PK, a.GSI2SK = domainDuePK, domainDueSK(a.NextCheckAt, host)
	}
	return a
}

func (a domainAttrs) domain() reroute.Domain {
	d := reroute.Domain{
		State: reroute.DomainState(a.DomainState), Reason: a.DomainReason,
		Refs:       reroute.EdgeRefs{TenantID: a.TenantID, CertificateARN: a.CertificateARN},
		VerifiedAt: parseTime(a.VerifiedAt), ReleaseAt: parseTime(a.ReleaseAt),
		CheckedAt: parseTime(a.CheckedAt), NextCheckAt: parseTime(a.NextCheckAt),
		Failures: a.Failures,
	}
	for _, r := range a.CertRecords {
		d.CertificateRecords = append(d.CertificateRecords, reroute.DNSRecord(r))
	}
	return d
}

// releaseItem is a release as stored, beside its host's route key.
type releaseItem struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Host           string `dynamodbav:"host"`
	OrgID          string `dynamodbav:"orgId"`
	RouteCreatedAt string `dynamodbav:"routeCreatedAt,omitempty"`
	TenantID       string `dynamodbav:"tenantId,omitempty"`
	CertificateARN string `dynamodbav:"certificateArn,omitempty"`
	NextCheckAt    string `dynamodbav:"nextCheckAt"`
	Failures       int    `dynamodbav:"domainFailures,omitempty"`
	GSI2PK         string `dynamodbav:"GSI2PK"`
	GSI2SK         string `dynamodbav:"GSI2SK"`
}

func newReleaseItem(rel reroute.Release) releaseItem {
	due := formatTime(rel.NextCheckAt)
	return releaseItem{
		PK: routePK(rel.Host), SK: releaseSK, Host: rel.Host, OrgID: rel.OrgID,
		RouteCreatedAt: formatTime(rel.RouteCreatedAt),
		TenantID:       rel.Refs.TenantID, CertificateARN: rel.Refs.CertificateARN,
		NextCheckAt: due, Failures: rel.Failures,
		GSI2PK: domainDuePK, GSI2SK: domainDueSK(due, rel.Host),
	}
}

func (it releaseItem) release() reroute.Release {
	return reroute.Release{
		Host: it.Host, OrgID: it.OrgID, RouteCreatedAt: parseTime(it.RouteCreatedAt),
		Refs:        reroute.EdgeRefs{TenantID: it.TenantID, CertificateARN: it.CertificateARN},
		NextCheckAt: parseTime(it.NextCheckAt), Failures: it.Failures,
	}
}

// releasePut is the transaction item that queues the release of a route's edge
// refs, due now; ok is false when the edge holds nothing for it. It replaces an
// older release of the host: the edge finds a hostname's tenant by its domain, so
// the newer refs are the ones that matter.
func (s *Store) releasePut(it routeItem) (types.TransactWriteItem, bool, error) {
	if it.TenantID == "" && it.CertificateARN == "" {
		return types.TransactWriteItem{}, false, nil
	}
	rel := newReleaseItem(reroute.Release{
		Host: it.Host, OrgID: it.OrgID, RouteCreatedAt: parseTime(it.CreatedAt),
		Refs:        reroute.EdgeRefs{TenantID: it.TenantID, CertificateARN: it.CertificateARN},
		NextCheckAt: s.now(),
	})
	item, err := attributevalue.MarshalMap(rel)
	if err != nil {
		return types.TransactWriteItem{}, false, fmt.Errorf("encoding the release of %s: %w", it.Host, err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.table), Item: item}}, true, nil
}

// SaveDomain stores next as r's domain, on condition that the route is still the
// one read (org, creation) and its domain unchanged since (checkedAt).
func (s *Store) SaveDomain(ctx context.Context, r reroute.Route, next reroute.Domain) error {
	if r.Host == "" || r.OrgID == "" {
		return errRouteNotFound()
	}
	m, err := attributevalue.MarshalMap(newDomainAttrs(r.Host, next))
	if err != nil {
		return fmt.Errorf("encoding the domain of %s: %w", r.Host, err)
	}
	u := newUpdateExpr()
	for _, name := range domainAttrNames {
		if v, ok := m[name]; ok {
			u.set(name, u.value(":"+name, v))
		} else {
			u.remove(name)
		}
	}
	cond, names, values := sameRoute(routeItem{OrgID: r.OrgID, CreatedAt: formatTime(r.CreatedAt),
		domainAttrs: domainAttrs{CheckedAt: formatTime(r.Domain.CheckedAt)}})
	for k, v := range names {
		u.names[k] = v
	}
	for k, v := range values {
		u.values[k] = v
	}
	var told []types.TransactWriteItem
	evs, err := domainEvents(r, next, s.now())
	if err != nil {
		return err
	}
	for _, e := range evs {
		put, err := s.outboxPut(e)
		if err != nil {
			return err
		}
		told = append(told, put)
	}
	old, failed, err := s.updateTold(ctx, &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       routeKey(r.Host),
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND " + cond),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	}, told...)
	if failed {
		var cur routeItem
		if len(old) > 0 {
			if err := attributevalue.UnmarshalMap(old, &cur); err != nil {
				return fmt.Errorf("decoding route %s: %w", r.Host, err)
			}
		}
		if cur.OrgID != r.OrgID || cur.CreatedAt != formatTime(r.CreatedAt) {
			return errRouteNotFound()
		}
		return reroute.Errorf(reroute.CodeConflict, "domain_changed", "the route's domain changed meanwhile")
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// releaseWarning is how long before an unverified hostname's release the org
// is told it is coming (domain.release_scheduled).
const releaseWarning = 48 * time.Hour

// domainEvents are the events a domain's change from r.Domain to next tells:
// it became active, or failed (with the reason a customer can act on); and,
// once, that an unverified hostname will be released soon: told by the save
// whose check is the first inside the warning window (saves are conditional on
// the previous check, so exactly one save crosses it).
func domainEvents(r reroute.Route, next reroute.Domain, now time.Time) ([]reroute.Event, error) {
	var out []reroute.Event
	var t reroute.EventType
	switch {
	case next.State == r.Domain.State:
	case next.State == reroute.DomainActive:
		t = reroute.EventDomainActive
	case next.State == reroute.DomainFailed:
		t = reroute.EventDomainFailed
	}
	if t != "" {
		e, err := reroute.NewEvent(t, r.OrgID, now, reroute.DomainEventData{Host: r.Host, State: string(next.State), Reason: next.Reason})
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if !next.Verified() && !next.ReleaseAt.IsZero() && !next.CheckedAt.IsZero() {
		warnAt := next.ReleaseAt.Add(-releaseWarning)
		if !next.CheckedAt.Before(warnAt) && r.Domain.CheckedAt.Before(warnAt) && next.CheckedAt.Before(next.ReleaseAt) {
			e, err := reroute.NewEvent(reroute.EventDomainReleaseScheduled, r.OrgID, now,
				reroute.DomainEventData{Host: r.Host, State: string(next.State), Reason: next.Reason, ReleaseAt: next.ReleaseAt})
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// DueDomains reads what is due from the sparse GSI2, most overdue first.
func (s *Store) DueDomains(ctx context.Context, now time.Time, limit int) ([]reroute.DomainWork, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(indexGSI2),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk < :end"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrGSI2PK, "#sk": attrGSI2SK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(domainDuePK), ":end": avS(domainDueBefore(formatTime(now))),
		},
		Limit: aws.Int32(int32(min(limit, math.MaxInt32))), // a batch size is configured, unbounded above
	})
	if err != nil {
		return nil, unavailable(err)
	}
	work := make([]reroute.DomainWork, 0, len(out.Items))
	for _, item := range out.Items {
		sk, _ := item[attrSK].(*types.AttributeValueMemberS)
		switch {
		case sk != nil && sk.Value == routeSK:
			var it routeItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decoding a due route: %w", err)
			}
			r := it.route()
			work = append(work, reroute.DomainWork{Route: &r})
		case sk != nil && sk.Value == releaseSK:
			var it releaseItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("decoding a due release: %w", err)
			}
			rel := it.release()
			work = append(work, reroute.DomainWork{Release: &rel})
		}
	}
	return work, nil
}

func errRouteVerified() error {
	return reroute.Errorf(reroute.CodeConflict, "route_verified", "the hostname was verified by the org that routes it")
}

// ReleaseRoute removes an unverified route and queues its edge refs for release.
func (s *Store) ReleaseRoute(ctx context.Context, r reroute.Route) error {
	if r.OrgID == "" || r.Host == "" {
		return errRouteNotFound()
	}
	return s.removeRoute(ctx, r.OrgID, r.Host, reroute.EventDomainReleased, func(cur reroute.Route) error {
		if !cur.CreatedAt.Equal(r.CreatedAt) {
			return errRouteNotFound()
		}
		if cur.Domain.Verified() {
			return errRouteVerified()
		}
		return nil
	})
}

// SaveRelease stores what is left of a release, or deletes it once nothing is, on
// condition that it is still the one read (its due time).
func (s *Store) SaveRelease(ctx context.Context, rel, next reroute.Release) error {
	u := newUpdateExpr()
	cond := u.name(attrNextCheckAt) + " = " + u.value(":was", avS(formatTime(rel.NextCheckAt)))
	var err error
	if next.Refs.IsZero() {
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: releaseKey(rel.Host),
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
		})
	} else {
		next.Host, next.OrgID, next.RouteCreatedAt = rel.Host, rel.OrgID, rel.RouteCreatedAt
		var item map[string]types.AttributeValue
		item, err = attributevalue.MarshalMap(newReleaseItem(next))
		if err != nil {
			return fmt.Errorf("encoding the release of %s: %w", rel.Host, err)
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: u.names, ExpressionAttributeValues: u.values,
		})
	}
	if _, failed := conditionFailed(err); failed {
		return reroute.Errorf(reroute.CodeConflict, "release_changed", "the release of %s changed meanwhile", rel.Host)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// ClaimRoute replaces held's item with claimant's in one Put (a transaction may
// not touch an item twice), conditioned on held being as read and unverified, and
// moves the count from held's org to claimant's. The claimant's rules are
// written first as a newer version than held's, whose chunks go once the claim
// holds.
func (s *Store) ClaimRoute(ctx context.Context, held, claimant reroute.Route) error {
	if err := checkKeys(claimant); err != nil {
		return err
	}
	if err := reroute.CheckLoop(ctx, s, claimant); err != nil {
		return err
	}
	if claimant.CreatedAt.IsZero() {
		claimant.CreatedAt = s.now()
	}
	if claimant.UpdatedAt.IsZero() {
		claimant.UpdatedAt = claimant.CreatedAt
	}
	n := len(claimant.PathRules)
	if err := s.checkRuleRoom(ctx, claimant.OrgID, n); err != nil {
		return err
	}
	for range maxConflictAttempts {
		it, found, err := getItem[routeItem](ctx, s, routeKey(held.Host))
		if err != nil {
			return err
		}
		switch {
		case !found:
			return s.CreateRoute(ctx, claimant) // released meanwhile: the host is free
		case it.OrgID != held.OrgID || it.CreatedAt != formatTime(held.CreatedAt) || it.OrgID == claimant.OrgID:
			return errHostTaken()
		case it.VerifiedAt != "":
			return errRouteVerified()
		}
		claimant.Domain.Refs = reroute.EdgeRefs{TenantID: it.TenantID, CertificateARN: it.CertificateARN}
		var w rulesWrite
		if n > 0 {
			if w, err = s.writeRules(ctx, claimant.Host, it.RulesVersion, claimant.PathRules); err != nil {
				return err
			}
		}
		item, err := attributevalue.MarshalMap(newRouteItem(claimant, w))
		if err != nil {
			s.abandon(ctx, w)
			return fmt.Errorf("encoding route %s: %w", claimant.Host, err)
		}
		cond, names, values := sameRoute(it)
		put := types.TransactWriteItem{Put: &types.Put{
			TableName:                 aws.String(s.table),
			Item:                      item,
			ConditionExpression:       aws.String(cond + " AND attribute_not_exists(#verifiedAt)"),
			ExpressionAttributeNames:  withName(names, "#verifiedAt", attrVerifiedAt),
			ExpressionAttributeValues: values,
		}}
		uncount, exists, err := s.uncountRoute(ctx, held.OrgID, held.Host)
		if err != nil {
			s.abandon(ctx, w)
			return err
		}
		if !exists {
			s.abandon(ctx, w)
			return unavailable(fmt.Errorf("claiming %s: the holding org is being deleted", held.Host))
		}
		count := s.countRoute(claimant.OrgID, n)
		err = s.transact(ctx, put, uncount, count)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err) // it may have committed: the chunks stay
		case !failed:
			if w.version > 0 {
				s.committed(ctx, w)
			} else {
				s.deleteRules(ctx, it) // held's rules, if it had any
			}
			return nil
		}
		s.abandon(ctx, w)
		if i == 2 {
			retry, err := s.whyNotCounted(ctx, claimant.OrgID, routeRoom(n))
			if !retry {
				return err
			}
		}
		// The held route or an org changed since read: again.
	}
	return unavailable(errors.New("claiming a route: it kept changing"))
}

// withName returns names with one more placeholder.
func withName(names map[string]string, ph, attr string) map[string]string {
	names[ph] = attr
	return names
}

// deleteOrgRoutes deletes every route of an org being deleted, each in one
// transaction with the release of its edge refs, so that none is left behind.
func (s *Store) deleteOrgRoutes(ctx context.Context, orgID string) error {
	q := s.orgRoutesQuery(orgID)
	const maxTransactItems = 100
	for {
		out, err := s.db.Query(ctx, q)
		if err != nil {
			return unavailable(err)
		}
		var items []routeItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return fmt.Errorf("decoding the routes of org %s: %w", orgID, err)
		}
		var batch []types.TransactWriteItem
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			err := s.transact(ctx, batch...)
			batch = batch[:0]
			if err != nil {
				return unavailable(err)
			}
			return nil
		}
		var deleted []routeItem // whose rules go once their transaction holds
		for _, it := range items {
			ops := []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String(s.table), Key: routeKey(it.Host)}}}
			if put, ok, err := s.releasePut(it); err != nil {
				return err
			} else if ok {
				ops = append(ops, put)
			}
			if len(batch)+len(ops) > maxTransactItems {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, ops...)
			deleted = append(deleted, it)
		}
		if err := flush(); err != nil {
			return err
		}
		// GSI1's copy of a route may name older rules than the item had: what
		// it misses stays, unreferenced.
		for _, it := range deleted {
			s.deleteRules(ctx, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		q.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
