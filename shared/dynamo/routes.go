package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Route attributes besides the keys.
const (
	attrHost      = "host"
	attrOrgID     = "orgId"
	attrTarget    = "target"
	attrStatus    = "status"
	attrKeepPath  = "keepPath"
	attrKeepQuery = "keepQuery"
	attrEnabled   = "enabled"
	attrCreatedAt = "createdAt"
	attrUpdatedAt = "updatedAt"
	attrHTTPS     = "httpsRedirect"
	attrHSTS      = "hsts"

	attrIgnoreCase          = "ignoreCase"
	attrIgnoreTrailingSlash = "ignoreTrailingSlash"
	attrFallbackKind        = "fallbackKind"
	attrFallbackTarget      = "fallbackTarget"
	attrFallbackStatus      = "fallbackStatus"
)

// routeItem is a route as stored (times as formatTime writes them).
type routeItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	GSI1PK    string `dynamodbav:"GSI1PK"`
	GSI1SK    string `dynamodbav:"GSI1SK"`
	Host      string `dynamodbav:"host"`
	OrgID     string `dynamodbav:"orgId"`
	Target    string `dynamodbav:"target"`
	Status    int    `dynamodbav:"status"`
	KeepPath  bool   `dynamodbav:"keepPath"`
	KeepQuery bool   `dynamodbav:"keepQuery"`
	Enabled   bool   `dynamodbav:"enabled"`
	HTTPS     bool   `dynamodbav:"httpsRedirect"`
	HSTS      bool   `dynamodbav:"hsts"`
	CreatedAt string `dynamodbav:"createdAt,omitempty"`
	UpdatedAt string `dynamodbav:"updatedAt,omitempty"`

	IgnoreCase          bool   `dynamodbav:"ignoreCase,omitempty"`
	IgnoreTrailingSlash bool   `dynamodbav:"ignoreTrailingSlash,omitempty"`
	FallbackKind        string `dynamodbav:"fallbackKind,omitempty"`
	FallbackTarget      string `dynamodbav:"fallbackTarget,omitempty"`
	FallbackStatus      int    `dynamodbav:"fallbackStatus,omitempty"`
	// The rules the route item names: ruleCount rules in ruleChunks chunks of
	// version rulesVersion. A route stored before rules existed has none: 0.
	RuleCount    int   `dynamodbav:"ruleCount,omitempty"`
	RuleChunks   int   `dynamodbav:"ruleChunks,omitempty"`
	RulesVersion int64 `dynamodbav:"rulesVersion,omitempty"`
	domainAttrs
}

// newRouteItem is r as stored, naming the rules w wrote (none for a zero w).
func newRouteItem(r reroute.Route, w rulesWrite) routeItem {
	return routeItem{
		PK: routePK(r.Host), SK: routeSK,
		GSI1PK: routeGSI1PK(r.OrgID), GSI1SK: routeGSI1SK(r.Host),
		Host: r.Host, OrgID: r.OrgID, Target: r.Target, Status: r.Status,
		KeepPath: r.KeepPath, KeepQuery: r.KeepQuery, Enabled: r.Enabled,
		HTTPS: r.HTTPSRedirect, HSTS: r.HSTS,
		CreatedAt: formatTime(r.CreatedAt), UpdatedAt: formatTime(r.UpdatedAt),
		IgnoreCase: r.PathOptions.IgnoreCase, IgnoreTrailingSlash: r.PathOptions.IgnoreTrailingSlash,
		FallbackKind: string(r.Fallback.Kind), FallbackTarget: r.Fallback.Target, FallbackStatus: r.Fallback.Status,
		RuleCount: w.count, RuleChunks: w.chunks, RulesVersion: w.version,
		domainAttrs: newDomainAttrs(r.Host, r.Domain),
	}
}

// route is the route the item stores, without its rules (see rulesOf).
func (it routeItem) route() reroute.Route {
	return reroute.Route{
		Host: it.Host, OrgID: it.OrgID, Target: it.Target, Status: it.Status,
		KeepPath: it.KeepPath, KeepQuery: it.KeepQuery, Enabled: it.Enabled,
		HTTPSRedirect: it.HTTPS, HSTS: it.HSTS,
		PathOptions: reroute.PathOptions{IgnoreCase: it.IgnoreCase, IgnoreTrailingSlash: it.IgnoreTrailingSlash},
		Fallback:    reroute.Fallback{Kind: reroute.FallbackKind(it.FallbackKind), Target: it.FallbackTarget, Status: it.FallbackStatus},
		RuleCount:   it.RuleCount, RulesVersion: it.RulesVersion,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt),
		Domain: it.domain(),
	}
}

func errRouteNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "route_not_found", Message: "no such route"}
}

// errHostTaken does not say which org holds the host: that would leak another
// tenant's existence.
func errHostTaken() error {
	return &reroute.Error{Code: reroute.CodeConflict, Reason: "host_taken", Message: "that hostname is already routed"}
}

// checkKeys refuses a route whose keys would be malformed; validating the rest is
// reroute.Rules' job, done before the store is called.
func checkKeys(r reroute.Route) error {
	if r.Host == "" || r.OrgID == "" {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "a route needs a host and an org"}
	}
	return nil
}

// GetRoute returns the route stored under exactly host with its rules and its
// edge status, read with one Query of the hostname's partition (the route item,
// its rule chunks and its edge record, more pages past 1 MB), and whether it is paused (a GetItem of its org's
// pausedFrom). It reads consistently, so that the dashboard sees its own writes.
func (s *Store) GetRoute(ctx context.Context, host string) (reroute.Route, error) {
	if host == "" {
		return reroute.Route{}, errRouteNotFound()
	}
	var it routeItem
	var rules []reroute.PathRule
	var edge reroute.EdgeRecord
	for attempt := 1; ; attempt++ {
		p, err := s.queryRoutePartition(ctx, host, true, false)
		if err != nil {
			return reroute.Route{}, err
		}
		if p.route == nil {
			return reroute.Route{}, errRouteNotFound() // an edge record alone is a route gone
		}
		if it, rules, err = p.decode(host); err == nil {
			edge = decodeEdge(p.edge)
			break
		} else if !errors.Is(err, errIncompleteRules) || attempt == maxRuleReads {
			return reroute.Route{}, err
		}
		// A write of the rules committed between two pages: read again.
	}
	p, err := s.readPause(ctx, it.OrgID, true)
	if err != nil {
		return reroute.Route{}, err
	}
	r := it.route()
	r.PathRules = rules
	r.Paused = p.paused(it.orderKey())
	r.Edge = edge.Status
	return r, nil
}

// maxRuleReads bounds the reads of a route whose rules were found incomplete: an
// eventually consistent read that missed the newest chunks, or a read that a write
// overtook between two pages. Either is rare, and a consistent read again sees
// the rules the route item names.
const maxRuleReads = 3

// CreateRoute stores a new route and its rules, and counts it on its org, in one
// transaction: the route's Put holds only if the hostname is free (its item's key
// is the host, so two orgs racing for one host cannot both win), and the org's
// count goes up only while the org is live, below its route limit and allowing
// the route's rules; the org's routeVersion goes up with it. Below the limit no
// route is paused, so a new one never is. The rules' chunks are written before,
// unseen until the route item names them (see rules.go). Zero times are set to
// now. A route whose target leads back to it through other routes is refused
// before (reroute.CheckLoop: a read per hop), here where every writer (the API,
// the import command) passes.
func (s *Store) CreateRoute(ctx context.Context, r reroute.Route) error {
	if err := checkKeys(r); err != nil {
		return err
	}
	if err := reroute.CheckLoop(ctx, s, r); err != nil {
		return err
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = s.now()
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = r.CreatedAt
	}
	n := len(r.PathRules)
	if err := s.checkRuleRoom(ctx, r.OrgID, n); err != nil {
		return err
	}
	var w rulesWrite
	if n > 0 {
		var err error
		if w, err = s.writeRules(ctx, r.Host, 0, r.PathRules); err != nil {
			return err
		}
	}
	item, err := attributevalue.MarshalMap(newRouteItem(r, w))
	if err != nil {
		s.abandon(ctx, w)
		return fmt.Errorf("encoding route %s: %w", r.Host, err)
	}
	put := types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}
	told, err := s.routeEvent(reroute.EventRouteCreated, r)
	if err != nil {
		s.abandon(ctx, w)
		return err
	}
	err = s.createCounted(ctx, r.OrgID, "route", put, s.countRoute(r.OrgID, n), errHostTaken, routeRoom(n), told)
	s.settle(ctx, w, err)
	return err
}

// settle finishes a write of rules by the outcome of its transaction: committed,
// the older versions go; refused, its own chunks do. Unknown (DynamoDB failed),
// they stay, unreferenced at worst, for the next write to sweep: the transaction
// may have committed.
func (s *Store) settle(ctx context.Context, w rulesWrite, err error) {
	var e *reroute.Error
	switch {
	case w.version == 0:
	case err == nil:
		s.committed(ctx, w)
	case errors.As(err, &e) && e.Code != reroute.CodeUnavailable:
		s.abandon(ctx, w)
	}
}

// countRoute is the org update of a transaction that adds a route with rules
// rules to orgID: the count goes up, and routeVersion with it, only while the org
// is live, below its route limit and allowing that many rules per route. Below
// the limit no route is paused, so a new one never is.
func (s *Store) countRoute(orgID string, rules int) types.TransactWriteItem {
	u := newUpdateExpr()
	one := u.value(":one", avN(1))
	u.set(attrRouteCount, u.name(attrRouteCount)+" + "+one)
	u.set(attrRouteVersion, "if_not_exists("+u.name(attrRouteVersion)+", "+u.value(":zero", avN(0))+") + "+one)
	u.name(attrDeleting) // orgLive's
	cond := orgLive + " AND " + u.name(attrRouteCount) + " < " + u.name(attrRouteLimit)
	if rules > 0 {
		cond += " AND " + ruleLimitHolds(u, rules)
	}
	return s.orgUpdate(orgID, u.expression(), cond, u.names, u.values)
}

// createCounted runs the transaction that puts a new item (put, whose condition
// failing means it exists) and counts it on its org (count, bounded by the org's
// limit), with the events told of it, retrying while a concurrent removal has
// made room meanwhile.
func (s *Store) createCounted(ctx context.Context, orgID, noun string, put, count types.TransactWriteItem,
	exists func() error, refuse func(orgItem) error, told ...types.TransactWriteItem) error {
	for attempt := 1; ; attempt++ {
		err := s.transact(ctx, append([]types.TransactWriteItem{put, count}, told...)...)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err)
		case !failed:
			return nil
		case i == 0:
			return exists()
		}
		retry, err := s.whyNotCounted(ctx, orgID, refuse)
		if !retry {
			return err
		}
		if attempt == maxConflictAttempts {
			return unavailable(fmt.Errorf("adding a %s: the org's %s count kept changing", noun, noun))
		}
	}
}

// UpdateRoute replaces the settings of r.OrgID's route for r.Host, keeping its
// creation time, on condition that its rules are still at r.RulesVersion (so that
// settings checked against the rules read cannot race a change of them); with
// ReplaceRules, its rules too (see replaceRules). Another org's route answers not
// found, like a missing one. A zero UpdatedAt is set to now. A target leading
// back to the route is refused, as in CreateRoute.
func (s *Store) UpdateRoute(ctx context.Context, r reroute.Route, rules reroute.RulesUpdate) error {
	if err := checkKeys(r); err != nil {
		return errRouteNotFound()
	}
	if err := reroute.CheckLoop(ctx, s, r); err != nil {
		return err
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	if rules == reroute.ReplaceRules {
		return s.replaceRules(ctx, r)
	}
	u, cond := routeSettings(r)
	told, err := s.routeEvent(reroute.EventRouteUpdated, r)
	if err != nil {
		return err
	}
	old, failed, err := s.updateTold(ctx, &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       routeKey(r.Host),
		UpdateExpression:          aws.String(u.expression()),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  u.names,
		ExpressionAttributeValues: u.values,
	}, told)
	if failed {
		if org, _ := old[attrOrgID].(*types.AttributeValueMemberS); org == nil || org.Value != r.OrgID {
			return errRouteNotFound()
		}
		return errRouteChanged()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// routeSettings is the update of a route item to r's settings, and its
// condition: the route exists, is r.OrgID's, and its rules are at r.RulesVersion.
func routeSettings(r reroute.Route) (*updateExpr, string) {
	u := newUpdateExpr()
	u.set(attrTarget, u.value(":target", avS(r.Target)))
	u.set(attrStatus, u.value(":status", avN(r.Status)))
	setBool := func(attr string, v bool) {
		u.set(attr, u.value(":"+attr, &types.AttributeValueMemberBOOL{Value: v}))
	}
	setBool(attrKeepPath, r.KeepPath)
	setBool(attrKeepQuery, r.KeepQuery)
	setBool(attrEnabled, r.Enabled)
	setBool(attrHTTPS, r.HTTPSRedirect)
	setBool(attrHSTS, r.HSTS)
	setBool(attrIgnoreCase, r.PathOptions.IgnoreCase)
	setBool(attrIgnoreTrailingSlash, r.PathOptions.IgnoreTrailingSlash)
	u.setS(attrFallbackKind, string(r.Fallback.Kind))
	u.setS(attrFallbackTarget, r.Fallback.Target)
	if r.Fallback.Status != 0 {
		u.set(attrFallbackStatus, u.value(":"+attrFallbackStatus, avN(r.Fallback.Status)))
	} else {
		u.remove(attrFallbackStatus)
	}
	u.set(attrUpdatedAt, u.value(":updatedAt", avS(formatTime(r.UpdatedAt))))
	cond := "attribute_exists(" + attrPK + ") AND " + u.name(attrOrgID) + " = " + u.value(":orgId", avS(r.OrgID)) +
		" AND " + rulesVersionIs(u, r.RulesVersion)
	return u, cond
}

// rulesVersionIs is the condition that a route's rules are at version v; a route
// stored without rules has no rulesVersion: that is version 0.
func rulesVersionIs(u *updateExpr, v int64) string {
	n, val := u.name(attrRulesVersion), u.value(":rulesVersion", avN64(v))
	if v == 0 {
		return "(attribute_not_exists(" + n + ") OR " + n + " = " + val + ")"
	}
	return n + " = " + val
}

// replaceRules writes r's settings and rules as UpdateRoute says. It reads the
// route first (one GetItem): a route of another org, or whose rules moved on from
// r.RulesVersion, is refused before anything is written. Then the new rules'
// chunks are written, and one transaction points the route item at them, on
// condition that the route is still as read, and, if the route gains rules, that
// its org allows that many (an org over its limit after a downgrade may still
// remove rules). Last, the older versions' chunks are deleted.
func (s *Store) replaceRules(ctx context.Context, r reroute.Route) error {
	n := len(r.PathRules)
	for range maxConflictAttempts {
		cur, found, err := getItem[routeItem](ctx, s, routeKey(r.Host))
		switch {
		case err != nil:
			return err
		case !found || cur.OrgID != r.OrgID:
			return errRouteNotFound()
		case cur.RulesVersion != r.RulesVersion:
			return errRouteChanged()
		}
		var orgCheck []types.TransactWriteItem
		if n > cur.RuleCount {
			if err := s.checkRuleRoom(ctx, r.OrgID, n); err != nil {
				return err
			}
			u := newUpdateExpr()
			orgCheck = append(orgCheck, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
				TableName:                 aws.String(s.table),
				Key:                       orgKey(r.OrgID),
				ConditionExpression:       aws.String(orgExists + " AND " + ruleLimitHolds(u, n)),
				ExpressionAttributeNames:  u.names,
				ExpressionAttributeValues: u.values,
			}})
		}
		w, err := s.writeRules(ctx, r.Host, cur.RulesVersion, r.PathRules)
		if err != nil {
			return err
		}
		u, cond := routeSettings(r)
		u.set(attrRuleCount, u.value(":ruleCount", avN(w.count)))
		u.set(attrRuleChunks, u.value(":ruleChunks", avN(w.chunks)))
		u.set(attrRulesVersion, u.value(":newRulesVersion", avN64(w.version)))
		update := types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       routeKey(r.Host),
			UpdateExpression:          aws.String(u.expression()),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  u.names,
			ExpressionAttributeValues: u.values,
		}}
		told, err := s.routeEvent(reroute.EventRouteUpdated, r)
		if err != nil {
			s.abandon(ctx, w)
			return err
		}
		err = s.transact(ctx, append(append([]types.TransactWriteItem{update}, orgCheck...), told)...)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err) // it may have committed: the chunks stay
		case !failed:
			s.committed(ctx, w)
			return nil
		}
		s.abandon(ctx, w)
		if i == 1 {
			org, ok, err := s.readOrg(ctx, r.OrgID)
			switch {
			case err != nil:
				return err
			case !ok:
				return errRouteNotFound() // the org is gone, and so are its routes
			}
			if err := ruleRoom(n)(org); err != nil {
				return err
			}
		}
		// The route or its org changed since read: read them again.
	}
	return unavailable(errors.New("replacing a route's rules: the route kept changing"))
}

// DeleteRoute removes orgID's route for host and uncounts it on the org, in one
// transaction that also moves the org's routeVersion on and queues the release of
// the hostname's edge refs; another org's route answers not found, like a missing
// one. An org being deleted may still lose routes this way. The route's edge
// record stays: the edge sync, seeing the route gone, deletes the KeyValueStore
// keys it names, then the record.
func (s *Store) DeleteRoute(ctx context.Context, orgID, host string) error {
	if orgID == "" || host == "" {
		return errRouteNotFound()
	}
	return s.removeRoute(ctx, orgID, host, reroute.EventRouteDeleted, nil)
}

// removeRoute deletes orgID's route for host as DeleteRoute says. It reads the
// route first (consistently), and guard, when set, may refuse it as read; the
// transaction holds only if the route is still as read, so a release carries the
// refs the route last had, and records an event of type event about it.
func (s *Store) removeRoute(ctx context.Context, orgID, host string, event reroute.EventType, guard func(reroute.Route) error) error {
	for range maxConflictAttempts {
		it, found, err := getItem[routeItem](ctx, s, routeKey(host))
		if err != nil {
			return err
		}
		if !found || it.OrgID != orgID {
			return errRouteNotFound()
		}
		if guard != nil {
			if err := guard(it.route()); err != nil {
				return err
			}
		}
		cond, names, values := sameRoute(it)
		// And its rules as read, so that the chunks deleted after are the last.
		v := newUpdateExpr()
		cond += " AND " + rulesVersionIs(v, it.RulesVersion)
		maps.Copy(names, v.names)
		maps.Copy(values, v.values)
		items := []types.TransactWriteItem{{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       routeKey(host),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}}}
		if put, ok, err := s.releasePut(it); err != nil {
			return err
		} else if ok {
			items = append(items, put)
		}
		uncount, exists, err := s.uncountRoute(ctx, orgID, host)
		if err != nil {
			return err
		}
		if !exists {
			return errRouteNotFound() // the org is gone, and so are its routes
		}
		told, err := s.routeEvent(event, it.route())
		if err != nil {
			return err
		}
		err = s.transact(ctx, append(items, uncount, told)...)
		if _, failed := conditionFailed(err); !failed {
			if err != nil {
				return unavailable(err)
			}
			s.deleteRules(ctx, it)
			return nil
		}
		// The route or its org changed since they were read, or went: again.
	}
	return unavailable(errors.New("deleting a route: the org's routes kept changing"))
}

// deleteRules deletes the rule chunks of a route item just deleted (best effort):
// those of its version and any older. A newer version may be a new route's of the
// same hostname, and is left alone.
func (s *Store) deleteRules(ctx context.Context, it routeItem) {
	if it.RulesVersion > 0 {
		s.sweepRuleChunks(ctx, it.Host, it.RulesVersion+1)
	}
}

// sameRoute is the condition that a route item is still the one read as it: the
// same org, creation and last domain change.
func sameRoute(it routeItem) (string, map[string]string, map[string]types.AttributeValue) {
	u := newUpdateExpr()
	cond := u.name(attrOrgID) + " = " + u.value(":orgId", avS(it.OrgID)) +
		" AND " + u.name(attrCreatedAt) + " = " + u.value(":createdAt", avS(it.CreatedAt))
	if it.CheckedAt == "" {
		cond += " AND attribute_not_exists(" + u.name(attrCheckedAt) + ")"
	} else {
		cond += " AND " + u.name(attrCheckedAt) + " = " + u.value(":wasCheckedAt", avS(it.CheckedAt)) // not :checkedAt, SaveDomain's new value
	}
	return cond, u.names, u.values
}

// uncountRoute is the org update of a transaction that removes orgID's route for
// host: the count goes down and routeVersion up. With no route paused it holds on
// condition that none became paused meanwhile. With routes paused, the removal
// frees room and the oldest paused route resumes: it lists the org's routes and
// sets the new pausedFrom, on condition that the routes and the limit are still
// those it read. exists is false when the org is gone.
func (s *Store) uncountRoute(ctx context.Context, orgID, host string) (types.TransactWriteItem, bool, error) {
	st, err := s.readRouteState(ctx, orgID, func(it orgItem) bool { return it.PausedFrom != "" })
	if err != nil || !st.exists {
		return types.TransactWriteItem{}, false, err
	}
	u := newUpdateExpr()
	u.set(attrRouteCount, u.name(attrRouteCount)+" - "+u.value(":one", avN(1)))
	u.set(attrRouteVersion, "if_not_exists("+u.name(attrRouteVersion)+", "+u.value(":zero", avN(0))+") + :one")
	cond := orgExists
	if st.listed {
		keys := slices.DeleteFunc(st.keys, func(k string) bool { return hostOfOrderKey(k) == host })
		u.setS(attrPausedFrom, pausedFromOf(keys, st.org.RouteLimit))
		cond += " AND " + routeVersionIs(u, st.org.RouteVersion) +
			" AND " + u.name(attrRouteLimit) + " = " + u.value(":routeLimit", avN(st.org.RouteLimit))
	} else {
		// Nothing paused (or the org is going away): fewer routes pause none.
		cond += " AND (attribute_not_exists(" + u.name(attrPausedFrom) + ") OR attribute_exists(" + u.name(attrDeleting) + "))"
	}
	return s.orgUpdate(orgID, u.expression(), cond, u.names, u.values), true, nil
}

// ListRoutes pages through orgID's routes in host order, on GSI1, and marks those
// paused, reading the org's pausedFrom once per page, and where each is served
// from (its edge record), with one BatchGetItem per 100 routes.
func (s *Store) ListRoutes(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Route], error) {
	in := s.orgRoutesQuery(orgID)
	var keys []string // of p.Items, in order
	p, err := queryPage(ctx, s, in, page, validHost,
		func(after string) map[string]types.AttributeValue { return routeIndexKey(orgID, after) },
		func(it routeItem) string { return it.Host },
		func(it routeItem) reroute.Route {
			keys = append(keys, it.orderKey())
			return it.route()
		})
	if err != nil || len(p.Items) == 0 {
		return p, err
	}
	pause, err := s.readPause(ctx, orgID, true)
	if err != nil {
		return reroute.Page[reroute.Route]{}, err
	}
	for i := range p.Items {
		p.Items[i].Paused = pause.paused(keys[i])
	}
	if err := s.fillEdge(ctx, p.Items); err != nil {
		return reroute.Page[reroute.Route]{}, err
	}
	return p, nil
}

// orgRoutesQuery is the Query of orgID's routes, in host order, on GSI1.
func (s *Store) orgRoutesQuery(orgID string) *dynamodb.QueryInput {
	return &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		IndexName:              aws.String(indexGSI1),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrGSI1PK, "#sk": attrGSI1SK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(routeGSI1PK(orgID)), ":sk": avS(routeGSI1SKOf),
		},
	}
}

// queryPage runs one page of a list query. It asks for one item more than the page,
// so that the last page never ends with a cursor to an empty one, and starts after
// the cursor's item with a start key that startKey rebuilds from the caller's org:
// a cursor can never reach another org's items.
func queryPage[I, T any](ctx context.Context, s *Store, in *dynamodb.QueryInput, page reroute.PageRequest,
	valid func(string) bool, startKey func(after string) map[string]types.AttributeValue,
	cursorOf func(I) string, toDomain func(I) T) (reroute.Page[T], error) {
	size, err := page.Size()
	if err != nil {
		return reroute.Page[T]{}, err
	}
	in.Limit = aws.Int32(int32(size + 1))
	if page.Cursor != "" {
		after, err := decodeCursorOf(page.Cursor, valid)
		if err != nil {
			return reroute.Page[T]{}, err
		}
		in.ExclusiveStartKey = startKey(after)
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return reroute.Page[T]{}, unavailable(err)
	}
	var items []I
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return reroute.Page[T]{}, fmt.Errorf("decoding a page of %T: %w", items, err)
	}
	var p reroute.Page[T]
	if len(items) > size {
		items = items[:size]
		p.NextCursor = encodeCursor(cursorOf(items[size-1]))
	}
	p.Items = make([]T, len(items))
	for i, it := range items {
		p.Items[i] = toDomain(it)
	}
	return p, nil
}

// A cursor is the base64url of a version prefix and the last item of the page (a
// host, an email, a key id): the prefix lets the format change without misreading
// old cursors. The caller's org is never in it: each list rebuilds its start from
// the org it is asked for.
const cursorV1 = "1:"

// maxCursorLen bounds what decodeCursorOf reads: the longest host, encoded.
const maxCursorLen = 400

func encodeCursor(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorV1 + last))
}

// validHost accepts the hosts routes are stored under.
func validHost(host string) bool {
	norm, err := reroute.NormalizeHost(host)
	return err == nil && norm == host
}

// decodeCursorOf reads a cursor whose item valid accepts.
func decodeCursorOf(cursor string, valid func(string) bool) (string, error) {
	bad := &reroute.Error{Code: reroute.CodeInvalid, Reason: "invalid_cursor", Message: "the cursor is not valid: start again from the first page"}
	if len(cursor) > maxCursorLen {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", bad
	}
	last, ok := strings.CutPrefix(string(b), cursorV1)
	if !ok || !valid(last) {
		return "", bad
	}
	return last, nil
}

// findAttrs are the attributes the redirector needs, and no more: less to read,
// send and decode on the hot path. createdAt places the route among its org's, to
// tell whether it is paused.
var findAttrs = []string{attrHost, attrOrgID, attrTarget, attrStatus, attrKeepPath, attrKeepQuery, attrEnabled, attrCreatedAt,
	attrHTTPS, attrHSTS, attrDomainState, attrIgnoreCase, attrIgnoreTrailingSlash,
	attrFallbackKind, attrFallbackTarget, attrFallbackStatus, attrRuleCount, attrRuleChunks, attrRulesVersion}

// projection is a ProjectionExpression of attrs. Every name goes through a
// placeholder, since some ("status") are reserved words.
func projection(attrs ...string) (*string, map[string]string) {
	names := make(map[string]string, len(attrs))
	var b strings.Builder
	for i, a := range attrs {
		if i > 0 {
			b.WriteString(", ")
		}
		ph := fmt.Sprintf("#a%d", i)
		names[ph] = a
		b.WriteString(ph)
	}
	return aws.String(b.String()), names
}

// batchGetMax is the number of keys one BatchGetItem accepts.
const batchGetMax = 100

// maxUnprocessedRetries bounds the retries of keys DynamoDB left unprocessed
// (throttling); past it, the answer is unknown and the caller serves what it had.
const maxUnprocessedRetries = 4

// FindRoute returns the route that serves host: the exact name first, then the
// longest wildcard that covers it. It reads, at once, the exact name's partition
// with one Query (the route item and its rule chunks) and every wildcard
// candidate (at most 99 more, see reroute.Candidates) with one BatchGetItem, all
// eventually consistent: the redirector caches anyway. The exact route wins; a
// wildcard that wins with rules costs one more Query, of its rules' chunks. A
// disabled route is returned like any other: what it answers is the caller's
// call. So is a paused one, marked Paused: when a route is found, one more
// GetItem (eventually consistent, projected) reads its org's pausedFrom. A lookup
// is thus two round trips, three for a wildcard route with rules, whatever the
// host; aside from retries of keys DynamoDB leaves unprocessed, rules past 1 MB
// (a page each), and a read again of rules that one missed being written.
func (s *Store) FindRoute(ctx context.Context, host string) (reroute.Route, bool, error) {
	if host == "" {
		return reroute.Route{}, false, nil
	}
	cands := reroute.Candidates(host)
	if len(cands) > batchGetMax+1 {
		// Candidates guarantees otherwise; a second batch would break the bound.
		return reroute.Route{}, false, fmt.Errorf("%d route candidates for %q, more than one BatchGetItem takes", len(cands), host)
	}
	wild := cands[1:]
	type batch struct {
		items []map[string]types.AttributeValue
		err   error
	}
	var wilds chan batch
	if len(wild) > 0 {
		wilds = make(chan batch, 1)
		go func() {
			keys := make([]map[string]types.AttributeValue, len(wild))
			for i, c := range wild {
				keys[i] = routeKey(c)
			}
			items, err := s.batchGet(ctx, keys)
			wilds <- batch{items, err}
		}()
	}
	it, rules, found, err := s.findExact(ctx, host)
	if wilds != nil {
		b := <-wilds // the goroutine ends before FindRoute returns
		if err == nil && !found {
			it, rules, found, err = s.findWildcard(ctx, wild, b.items, b.err)
		}
	}
	if err != nil || !found {
		return reroute.Route{}, false, err
	}
	p, err := s.readPause(ctx, it.OrgID, false)
	if err != nil {
		return reroute.Route{}, false, err
	}
	r := it.route()
	r.PathRules = rules
	r.Paused = p.paused(it.orderKey())
	return r, true, nil
}

// findExact reads the route stored under exactly host, with its rules, from one
// Query of its partition; again, consistently, if the rules were incomplete.
func (s *Store) findExact(ctx context.Context, host string) (routeItem, []reroute.PathRule, bool, error) {
	for attempt := 1; ; attempt++ {
		p, err := s.queryRoutePartition(ctx, host, attempt > 1, true)
		if err != nil || p.route == nil {
			return routeItem{}, nil, false, err
		}
		it, rules, err := p.decode(host)
		if err == nil {
			return it, rules, true, nil
		}
		if !errors.Is(err, errIncompleteRules) || attempt == maxRuleReads {
			return routeItem{}, nil, false, err
		}
	}
}

// findWildcard picks the best of the wildcard routes a BatchGetItem found (wild
// are the candidates, best first) and reads its rules.
func (s *Store) findWildcard(ctx context.Context, wild []string, items []map[string]types.AttributeValue, err error) (routeItem, []reroute.PathRule, bool, error) {
	if err != nil {
		return routeItem{}, nil, false, err
	}
	best, bestRank := -1, len(wild)
	for i, it := range items {
		h, _ := it[attrHost].(*types.AttributeValueMemberS)
		if h == nil {
			continue
		}
		for rank := 0; rank < bestRank; rank++ {
			if wild[rank] == h.Value {
				best, bestRank = i, rank
				break
			}
		}
	}
	if best < 0 {
		return routeItem{}, nil, false, nil
	}
	var it routeItem
	if err := attributevalue.UnmarshalMap(items[best], &it); err != nil {
		return routeItem{}, nil, false, fmt.Errorf("decoding route %s: %w", wild[bestRank], err)
	}
	if it.RuleCount == 0 {
		return it, nil, true, nil
	}
	p, err := s.queryVersionChunks(ctx, it.Host, it.RulesVersion, false)
	if err != nil {
		return routeItem{}, nil, false, err
	}
	rules, err := p.rulesOf(it.RulesVersion, it.RuleChunks, it.RuleCount)
	if errors.Is(err, errIncompleteRules) {
		// Missed by a replica, or replaced and deleted since the route item was
		// read: the partition, read consistently, has the rules of today's item.
		it, rules, found, err := s.findExact(ctx, wild[bestRank])
		if err == nil && !found {
			err = unavailable(fmt.Errorf("route %s went while it was read", wild[bestRank]))
		}
		return it, rules, found, err
	}
	if err != nil {
		return routeItem{}, nil, false, err
	}
	return it, rules, true, nil
}

// batchGet reads up to 100 keys, retrying those DynamoDB leaves unprocessed with a
// short exponential backoff.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.table: {
		Keys:                     keys,
		ProjectionExpression:     s.findProjection,
		ExpressionAttributeNames: s.findNames,
	}}
	var items []map[string]types.AttributeValue
	backoff := 10 * time.Millisecond
	for attempt := 0; ; attempt++ {
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, unavailable(err)
		}
		items = append(items, out.Responses[s.table]...)
		left, ok := out.UnprocessedKeys[s.table]
		if !ok || len(left.Keys) == 0 {
			return items, nil
		}
		if attempt == maxUnprocessedRetries {
			return nil, unavailable(fmt.Errorf("%d keys still unprocessed after %d attempts", len(left.Keys), attempt+1))
		}
		if err := sleep(ctx, backoff); err != nil {
			return nil, unavailable(err)
		}
		backoff *= 2
		// Ask again with this call's own projection, whatever came back.
		left.ProjectionExpression, left.ExpressionAttributeNames = s.findProjection, s.findNames
		req = map[string]types.KeysAndAttributes{s.table: left}
	}
}
