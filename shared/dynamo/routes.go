package dynamo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
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
	domainAttrs
}

func newRouteItem(r reroute.Route) routeItem {
	return routeItem{
		PK: routePK(r.Host), SK: routeSK,
		GSI1PK: routeGSI1PK(r.OrgID), GSI1SK: routeGSI1SK(r.Host),
		Host: r.Host, OrgID: r.OrgID, Target: r.Target, Status: r.Status,
		KeepPath: r.KeepPath, KeepQuery: r.KeepQuery, Enabled: r.Enabled,
		HTTPS: r.HTTPSRedirect, HSTS: r.HSTS,
		CreatedAt: formatTime(r.CreatedAt), UpdatedAt: formatTime(r.UpdatedAt),
		domainAttrs: newDomainAttrs(r.Host, r.Domain),
	}
}

func (it routeItem) route() reroute.Route {
	return reroute.Route{
		Host: it.Host, OrgID: it.OrgID, Target: it.Target, Status: it.Status,
		KeepPath: it.KeepPath, KeepQuery: it.KeepQuery, Enabled: it.Enabled,
		HTTPSRedirect: it.HTTPS, HSTS: it.HSTS,
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

// GetRoute returns the route stored under exactly host, and whether it is paused
// (a second GetItem, of its org's pausedFrom). It reads consistently, so that the
// dashboard sees its own writes.
func (s *Store) GetRoute(ctx context.Context, host string) (reroute.Route, error) {
	if host == "" {
		return reroute.Route{}, errRouteNotFound()
	}
	it, found, err := getItem[routeItem](ctx, s, routeKey(host))
	if err != nil {
		return reroute.Route{}, err
	}
	if !found {
		return reroute.Route{}, errRouteNotFound()
	}
	p, err := s.readPause(ctx, it.OrgID, true)
	if err != nil {
		return reroute.Route{}, err
	}
	r := it.route()
	r.Paused = p.paused(it.orderKey())
	return r, nil
}

// CreateRoute stores a new route and counts it on its org, in one transaction:
// the route's Put holds only if the hostname is free (its item's key is the host,
// so two orgs racing for one host cannot both win), and the org's count goes up
// only while the org is live and below its route limit; the org's routeVersion goes
// up with it. Below the limit no route is paused, so a new one never is. Zero
// times are set to now. A route whose target leads back to it through other
// routes is refused before (reroute.CheckLoop: a read per hop), here where every
// writer (the API, the import command) passes.
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
	item, err := attributevalue.MarshalMap(newRouteItem(r))
	if err != nil {
		return fmt.Errorf("encoding route %s: %w", r.Host, err)
	}
	put := types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}
	count := s.countRoute(r.OrgID)
	return s.createCounted(ctx, r.OrgID, "route", put, count, errHostTaken,
		func(it orgItem) (int, int) { return it.RouteCount, it.RouteLimit })
}

// countRoute is the org update of a transaction that adds a route to orgID: the
// count goes up, and routeVersion with it, only while the org is live and below
// its route limit. Below the limit no route is paused, so a new one never is.
func (s *Store) countRoute(orgID string) types.TransactWriteItem {
	return s.orgUpdate(orgID,
		"SET #routeCount = #routeCount + :one, #routeVersion = if_not_exists(#routeVersion, :zero) + :one",
		orgLive+" AND #routeCount < #routeLimit",
		map[string]string{
			"#routeCount": attrRouteCount, "#routeLimit": attrRouteLimit, "#deleting": attrDeleting,
			"#routeVersion": attrRouteVersion,
		},
		map[string]types.AttributeValue{":one": avN(1), ":zero": avN(0)})
}

// createCounted runs the transaction that puts a new item (put, whose condition
// failing means it exists) and counts it on its org (count, bounded by the org's
// limit), retrying while a concurrent removal has made room meanwhile.
func (s *Store) createCounted(ctx context.Context, orgID, noun string, put, count types.TransactWriteItem,
	exists func() error, countOf func(orgItem) (n, limit int)) error {
	for attempt := 1; ; attempt++ {
		err := s.transact(ctx, put, count)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err)
		case !failed:
			return nil
		case i == 0:
			return exists()
		}
		retry, err := s.whyNotCounted(ctx, orgID, noun, countOf)
		if !retry {
			return err
		}
		if attempt == maxConflictAttempts {
			return unavailable(fmt.Errorf("adding a %s: the org's %s count kept changing", noun, noun))
		}
	}
}

// UpdateRoute replaces the settings of r.OrgID's route for r.Host, keeping its
// creation time. Another org's route answers not found, like a missing one. A zero
// UpdatedAt is set to now. A target leading back to the route is refused, as in
// CreateRoute.
func (s *Store) UpdateRoute(ctx context.Context, r reroute.Route, _ reroute.RulesUpdate) error {
	if err := checkKeys(r); err != nil {
		return errRouteNotFound()
	}
	if err := reroute.CheckLoop(ctx, s, r); err != nil {
		return err
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = s.now()
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       routeKey(r.Host),
		UpdateExpression: aws.String("SET #target = :target, #status = :status, #keepPath = :keepPath, " +
			"#keepQuery = :keepQuery, #enabled = :enabled, #https = :https, #hsts = :hsts, #updatedAt = :updatedAt"),
		ConditionExpression: aws.String("attribute_exists(" + attrPK + ") AND #orgId = :orgId"),
		ExpressionAttributeNames: map[string]string{
			"#target": attrTarget, "#status": attrStatus, "#keepPath": attrKeepPath,
			"#keepQuery": attrKeepQuery, "#enabled": attrEnabled, "#updatedAt": attrUpdatedAt,
			"#orgId": attrOrgID, "#https": attrHTTPS, "#hsts": attrHSTS,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":target":    &types.AttributeValueMemberS{Value: r.Target},
			":status":    &types.AttributeValueMemberN{Value: fmt.Sprint(r.Status)},
			":keepPath":  &types.AttributeValueMemberBOOL{Value: r.KeepPath},
			":keepQuery": &types.AttributeValueMemberBOOL{Value: r.KeepQuery},
			":enabled":   &types.AttributeValueMemberBOOL{Value: r.Enabled},
			":https":     &types.AttributeValueMemberBOOL{Value: r.HTTPSRedirect},
			":hsts":      &types.AttributeValueMemberBOOL{Value: r.HSTS},
			":updatedAt": &types.AttributeValueMemberS{Value: formatTime(r.UpdatedAt)},
			":orgId":     &types.AttributeValueMemberS{Value: r.OrgID},
		},
	})
	if _, failed := conditionFailed(err); failed {
		return errRouteNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteRoute removes orgID's route for host and uncounts it on the org, in one
// transaction that also moves the org's routeVersion on and queues the release of
// the hostname's edge refs; another org's route answers not found, like a missing
// one. An org being deleted may still lose routes this way.
func (s *Store) DeleteRoute(ctx context.Context, orgID, host string) error {
	if orgID == "" || host == "" {
		return errRouteNotFound()
	}
	return s.removeRoute(ctx, orgID, host, nil)
}

// removeRoute deletes orgID's route for host as DeleteRoute says. It reads the
// route first (consistently), and guard, when set, may refuse it as read; the
// transaction holds only if the route is still as read, so a release carries the
// refs the route last had.
func (s *Store) removeRoute(ctx context.Context, orgID, host string, guard func(reroute.Route) error) error {
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
		err = s.transact(ctx, append(items, uncount)...)
		if _, failed := conditionFailed(err); !failed {
			if err != nil {
				return unavailable(err)
			}
			return nil
		}
		// The route or its org changed since they were read, or went: again.
	}
	return unavailable(errors.New("deleting a route: the org's routes kept changing"))
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
		cond += " AND " + u.name(attrCheckedAt) + " = " + u.value(":checkedAt", avS(it.CheckedAt))
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
// paused, reading the org's pausedFrom once per page.
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
	attrHTTPS, attrHSTS, attrDomainState}

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
// longest wildcard that covers it. All candidates (at most 100, see
// reroute.Candidates) are read with one BatchGetItem, eventually consistent: the
// redirector caches anyway. A disabled route is returned like any other: what it
// answers is the caller's call. So is a paused one, marked Paused: when a route is
// found, one more GetItem (eventually consistent, projected) reads its org's
// pausedFrom. A route whose org is missing or being deleted reads as paused. A
// lookup is thus two round trips at most, whatever the host, retries of keys
// DynamoDB leaves unprocessed aside.
func (s *Store) FindRoute(ctx context.Context, host string) (reroute.Route, bool, error) {
	if host == "" {
		return reroute.Route{}, false, nil
	}
	cands := reroute.Candidates(host)
	if len(cands) > batchGetMax {
		// Candidates guarantees otherwise; a second batch would break the bound.
		return reroute.Route{}, false, fmt.Errorf("%d route candidates for %q, more than one BatchGetItem takes", len(cands), host)
	}
	keys := make([]map[string]types.AttributeValue, len(cands))
	for i, c := range cands {
		keys[i] = routeKey(c)
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return reroute.Route{}, false, err
	}
	best, bestRank := -1, len(cands)
	for i, it := range items {
		h, _ := it[attrHost].(*types.AttributeValueMemberS)
		if h == nil {
			continue
		}
		for rank := 0; rank < bestRank; rank++ {
			if cands[rank] == h.Value {
				best, bestRank = i, rank
				break
			}
		}
	}
	if best < 0 {
		return reroute.Route{}, false, nil
	}
	var it routeItem
	if err := attributevalue.UnmarshalMap(items[best], &it); err != nil {
		return reroute.Route{}, false, fmt.Errorf("decoding route %s: %w", cands[bestRank], err)
	}
	p, err := s.readPause(ctx, it.OrgID, false)
	if err != nil {
		return reroute.Route{}, false, err
	}
	r := it.route()
	r.Paused = p.paused(it.orderKey())
	return r, true, nil
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
