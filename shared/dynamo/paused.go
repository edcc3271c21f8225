package dynamo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Paused routes. An org whose plan allows fewer routes than it has keeps them all,
// but its newest routes beyond the limit are paused, and they resume oldest first.
// Which ones are paused is one attribute of the org item, pausedFrom, not a flag on
// each route: a transaction holds at most 100 items, and a downgrade from 100
// routes to 1 would have to write 99 routes in the transaction that changes the
// plan. A route is paused iff pausedFrom is set and the route's order key is at or
// after it. pausedFrom is a function of the org's routes and its route limit, and
// every write that sets it is made on condition that both are still those it was
// computed from (routeVersion counts the changes to the routes).
//
// Invariant: pausedFrom is set only while the org has more routes than its limit,
// and then it is the order key of the (limit+1)-th oldest route.

// routeOrderKey orders an org's routes by creation, then by host: createdAt is
// formatTime's, fixed-width, so text order is time order.
func routeOrderKey(createdAt, host string) string { return createdAt + "|" + host }

// hostOfOrderKey is the host an order key was made from.
func hostOfOrderKey(key string) string {
	_, host, _ := strings.Cut(key, "|")
	return host
}

func (it routeItem) orderKey() string { return routeOrderKey(it.CreatedAt, it.Host) }

// pausedFromOf is the pausedFrom of an org whose routes have the given order keys,
// sorted, under a route limit: "" when all fit.
func pausedFromOf(sortedKeys []string, limit int) string {
	if len(sortedKeys) <= max(limit, 0) {
		return ""
	}
	return sortedKeys[max(limit, 0)]
}

// orgPause is what a read of routes needs of their org.
type orgPause struct {
	pausedFrom string
	gone       bool // the org is missing or being deleted: its routes serve nothing
}

// paused reports whether the org's route with this order key is paused.
func (p orgPause) paused(key string) bool {
	return p.gone || p.pausedFrom != "" && key >= p.pausedFrom
}

// pauseAttrs are what readPause projects: the key, to tell a missing org from one
// without pausedFrom, and the deleting mark.
var pauseAttrs = []string{attrPK, attrPausedFrom, attrDeleting}

// readPause reads what decides which of orgID's routes are paused: one GetItem,
// projected, decoded without reflection (the redirect path calls it on a cache miss).
func (s *Store) readPause(ctx context.Context, orgID string, consistent bool) (orgPause, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.table),
		Key:                      orgKey(orgID),
		ProjectionExpression:     s.pauseProjection,
		ExpressionAttributeNames: s.pauseNames,
		ConsistentRead:           aws.Bool(consistent),
	})
	if err != nil {
		return orgPause{}, unavailable(err)
	}
	if len(out.Item) == 0 {
		return orgPause{gone: true}, nil
	}
	if _, deleting := out.Item[attrDeleting]; deleting {
		return orgPause{gone: true}, nil
	}
	var p orgPause
	if v, ok := out.Item[attrPausedFrom].(*types.AttributeValueMemberS); ok {
		p.pausedFrom = v.Value
	}
	return p, nil
}

// routeState is an org as read by a write that computes pausedFrom: the org item
// and, if listed, the order keys of all its routes, sorted.
type routeState struct {
	org    orgItem
	exists bool
	listed bool
	keys   []string
}

// readRouteState reads orgID's item and, if want says the routes matter (it is
// asked only for a live org), the order keys of all its routes. They are listed
// from GSI1, which is eventually consistent, so the list is taken only when it
// holds as many routes as the org item counts (every route is created and deleted
// in one transaction with its count); otherwise both are read again after a short
// wait. A route created and another deleted in the instant before, both missing
// from the index, could still pass unseen: the write's routeVersion condition does
// not catch that, the count check makes it unlikely.
func (s *Store) readRouteState(ctx context.Context, orgID string, want func(orgItem) bool) (routeState, error) {
	backoff := conflictBackoff
	for attempt := 1; ; attempt++ {
		it, ok, err := s.readOrg(ctx, orgID)
		if err != nil {
			return routeState{}, err
		}
		st := routeState{org: it, exists: ok}
		if !ok || it.Deleting || !want(it) {
			return st, nil
		}
		keys, err := s.routeOrderKeys(ctx, orgID)
		if err != nil {
			return routeState{}, err
		}
		if len(keys) == it.RouteCount {
			st.listed, st.keys = true, keys
			return st, nil
		}
		if attempt == maxConflictAttempts {
			return routeState{}, unavailable(fmt.Errorf("org %s counts %d routes, its index lists %d", orgID, it.RouteCount, len(keys)))
		}
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff)))+time.Millisecond); err != nil {
			return routeState{}, unavailable(err)
		}
		backoff = min(2*backoff, maxConflictBackoff)
	}
}

// routeOrderKeys lists the order keys of all orgID's routes, sorted, from GSI1:
// every page, projected to what the keys are made of.
func (s *Store) routeOrderKeys(ctx context.Context, orgID string) ([]string, error) {
	in := s.orgRoutesQuery(orgID)
	in.ProjectionExpression = aws.String("#host, #createdAt")
	in.ExpressionAttributeNames["#host"], in.ExpressionAttributeNames["#createdAt"] = attrHost, attrCreatedAt
	var keys []string
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(err)
		}
		for _, item := range out.Items {
			host, _ := item[attrHost].(*types.AttributeValueMemberS)
			if host == nil {
				return nil, fmt.Errorf("a route of org %s has no host", orgID)
			}
			created := ""
			if c, ok := item[attrCreatedAt].(*types.AttributeValueMemberS); ok {
				created = c.Value
			}
			keys = append(keys, routeOrderKey(created, host.Value))
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	slices.Sort(keys)
	return keys, nil
}

// routeVersionIs is the condition that the org's routes are still at version v.
// Orgs stored before routeVersion existed have none: that is version 0.
func routeVersionIs(u *updateExpr, v int) string {
	n, val := u.name(attrRouteVersion), u.value(":routeVersion", avN(v))
	if v == 0 {
		return "(attribute_not_exists(" + n + ") OR " + n + " = " + val + ")"
	}
	return n + " = " + val
}
