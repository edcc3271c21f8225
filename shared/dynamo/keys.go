package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Every key of the table is built here and nowhere else, and every key value starts
// with its entity type, so that items of different kinds can never collide and an
// IAM policy can scope a function to some kinds (the redirector reads HOST#* and
// ORG#* only).
//
//	entity   PK                 SK               GSI1PK         GSI1SK
//	route    HOST#<host>        ROUTE            ORG#<org>      ROUTE#<host>
//	rules    HOST#<host>        RULES#<version>#<chunk>   (no GSI keys: GSI1 never copies rules)
//	org      ORG#<org>          ORG
//	member   ORG#<org>          MEMBER#<email>   USER#<email>   ORG#<org>
//	api key  APIKEY#<sha256>    KEY              ORG#<org>      APIKEY#<id>
//	customer STRIPE#<cus_id>    ORG
//	event    STRIPEEVT#<evt_id> EVT
//	release  HOST#<host>        RELEASE
//	edge     HOST#<host>        ROUTE#EDGE       (where the edge sync serves the route, the keys it published)
//	rate     RATE#<kind>#<subj> WINDOW#<start>   (expiresAt: the window's end)
//	idem key IDEMPOTENCY#<sha256> KEY            (expiresAt: claim lease, then 24 h)
//	stats    STATS#<host>       H#<hour> | D#<day>   (expiresAt: the bucket's end + the plan's retention)
//	log obj  LOGOBJ#<sha256>    PART#<n>         (expiresAt: its buckets' latest)
//	oauth app OAUTHAPP#<client> APP              ORG#<org>      OAUTHAPP#<client>
//	grant    ORG#<org>          OAUTHGRANT#<email>#<client>   OAUTHAPP#<client>  OAUTHGRANT#<org>#<email>
//	oauth req OAUTHREQ#<id>     REQ              (one authorization's token hashes; expiresAt: its latest)
//	token    OAUTHTOK#<kind>#<sha256> TOKEN      (codes, PKCE, access, refresh; expiresAt: its own)
//
//	due work (sparse GSI2)      GSI2PK           GSI2SK
//	route, release              DOMAINDUE        <nextCheckAt>#<host>
//
// An org's partition of GSI1 holds its routes and its API keys, told apart by the
// prefix of GSI1SK; a user's partition holds their memberships.

// Attribute and index names, as template.yaml declares them (a test checks).
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrGSI2PK = "GSI2PK"
	attrGSI2SK = "GSI2SK"
	attrTTL    = "expiresAt" // unix seconds

	indexGSI1 = "GSI1"
	indexGSI2 = "GSI2"
)

const orgPrefix = "ORG#"

// tableKey is a primary key.
func tableKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: avS(pk), attrSK: avS(sk)}
}

// keyOf is the primary key of a stored item (or of a query's projection of one).
func keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: item[attrPK], attrSK: item[attrSK]}
}

// Route items: one per hostname, so that the table itself enforces that a hostname
// belongs to one org, and GSI1 lists an org's routes in host order.
const (
	routeSK       = "ROUTE"
	routeGSI1SKOf = "ROUTE#" // prefix of every route's GSI1SK
)

func routePK(host string) string      { return "HOST#" + host }
func routeGSI1PK(orgID string) string { return orgPrefix + orgID }
func routeGSI1SK(host string) string  { return routeGSI1SKOf + host }

// routeKey is the primary key of host's route item.
func routeKey(host string) map[string]types.AttributeValue {
	return tableKey(routePK(host), routeSK)
}

// routeIndexKey is the full key of a route in GSI1 (the index's keys plus the
// table's), which a Query needs as its ExclusiveStartKey.
func routeIndexKey(orgID, host string) map[string]types.AttributeValue {
	k := routeKey(host)
	k[attrGSI1PK] = avS(routeGSI1PK(orgID))
	k[attrGSI1SK] = avS(routeGSI1SK(host))
	return k
}

// Rule chunk items hold a route's path rules, in order, a chunk to an item, in
// the hostname's partition beside the route item, so that one Query of the
// partition reads a route with its rules. Both numbers are zero-padded to a fixed
// width, so that text order is number order: a version's chunks are one range of
// keys, in chunk order, and every version sorts between "RULES#" and "RULES$".
// "ROUTE" sorts before "RULES#" (and "RELEASE" before both): SK BETWEEN "ROUTE"
// AND "RULES$" is the route and its rules, nothing else.
const (
	rulesSKOf  = "RULES#" // prefix of every chunk's SK
	rulesSKEnd = "RULES$" // sorts after every chunk's SK ('$' follows '#')
)

// ruleVersionSK is the prefix of every chunk of one version of the rules.
func ruleVersionSK(version int64) string { return fmt.Sprintf("%s%019d#", rulesSKOf, version) }

// ruleChunkSK is the SK of chunk index of a version of the rules.
func ruleChunkSK(version int64, index int) string {
	return fmt.Sprintf("%s%04d", ruleVersionSK(version), index)
}

// ruleChunkKey is the primary key of chunk index of a version of host's rules.
func ruleChunkKey(host string, version int64, index int) map[string]types.AttributeValue {
	return tableKey(routePK(host), ruleChunkSK(version, index))
}

// parseRuleChunkSK reads the version and index out of a chunk's SK.
func parseRuleChunkSK(sk string) (version int64, index int, ok bool) {
	rest, ok := strings.CutPrefix(sk, rulesSKOf)
	if !ok || len(rest) != 19+1+4 || rest[19] != '#' {
		return 0, 0, false
	}
	v, err1 := strconv.ParseInt(rest[:19], 10, 64)
	i, err2 := strconv.Atoi(rest[20:])
	if err1 != nil || err2 != nil || v < 0 || i < 0 {
		return 0, 0, false
	}
	return v, i, true
}

// Org items: one per org, holding its plan, limits and counters, so that a write
// bounded by a limit and the count it changes are one transaction.
const orgSK = "ORG"

func orgPK(id string) string { return orgPrefix + id }

// orgKey is the primary key of an org's item.
func orgKey(id string) map[string]types.AttributeValue { return tableKey(orgPK(id), orgSK) }

// Member items live in their org's partition (an org lists its members in email
// order with one Query) and in their user's partition of GSI1 (a user finds their
// orgs).
const memberSKOf = "MEMBER#" // prefix of every member's SK

func memberPK(orgID string) string     { return orgPK(orgID) }
func memberSK(email string) string     { return memberSKOf + email }
func memberGSI1PK(email string) string { return "USER#" + email }
func memberGSI1SK(orgID string) string { return orgPrefix + orgID }

// memberKey is the primary key of email's membership of orgID; being a table key,
// it is also the ExclusiveStartKey of a Query of the org's members.
func memberKey(orgID, email string) map[string]types.AttributeValue {
	return tableKey(memberPK(orgID), memberSK(email))
}

// API key items are keyed by the hash of their secret, so that authenticating is
// one GetItem; GSI1 lists an org's keys in id order.
const (
	apiKeySK       = "KEY"
	apiKeyGSI1SKOf = "APIKEY#" // prefix of every key's GSI1SK
	// apiKeyGSI1SKEnd sorts after every key's GSI1SK and before any other kind's
	// ('$' follows '#'), to bound a range of keys in an org's partition.
	apiKeyGSI1SKEnd = "APIKEY$"
)

func apiKeyPK(hash string) string      { return "APIKEY#" + hash }
func apiKeyGSI1PK(orgID string) string { return orgPrefix + orgID }
func apiKeyGSI1SK(id string) string    { return apiKeyGSI1SKOf + id }

// apiKeyKey is the primary key of the API key whose secret hashes to hash.
func apiKeyKey(hash string) map[string]types.AttributeValue {
	return tableKey(apiKeyPK(hash), apiKeySK)
}

// Stripe customer items map a customer back to its org, so that a webhook finds
// the org of an event with one GetItem.
const stripeCustomerSK = "ORG"

func stripeCustomerPK(customerID string) string { return "STRIPE#" + customerID }

// stripeCustomerKey is the primary key of a Stripe customer's item.
func stripeCustomerKey(customerID string) map[string]types.AttributeValue {
	return tableKey(stripeCustomerPK(customerID), stripeCustomerSK)
}

// Stripe event items mark an event as applied, written in the transaction that
// applies it, and expire (TTL) once Stripe can no longer send it again.
const stripeEventSK = "EVT"

func stripeEventPK(eventID string) string { return "STRIPEEVT#" + eventID }

// stripeEventKey is the primary key of a Stripe event's marker.
func stripeEventKey(eventID string) map[string]types.AttributeValue {
	return tableKey(stripeEventPK(eventID), stripeEventSK)
}

// Release items hold what is left to remove at the edge of a hostname whose route
// is gone. They live beside the route's key, so a host has at most one.
const releaseSK = "RELEASE"

// releaseKey is the primary key of host's release.
func releaseKey(host string) map[string]types.AttributeValue {
	return tableKey(routePK(host), releaseSK)
}

// Edge records hold where the edge sync last left a hostname's route (at the
// edge, or by the origin and why) and the KeyValueStore keys it published for
// it. "ROUTE#EDGE" sorts after "ROUTE" and before "RULES#", so the Query that
// reads a route with its rules (SK BETWEEN "ROUTE" AND "RULES$") reads its edge
// record too. It outlives its route: the sync, seeing the route gone, deletes
// the keys it names and then the record.
const edgeSK = "ROUTE#EDGE"

// edgeKey is the primary key of host's edge record.
func edgeKey(host string) map[string]types.AttributeValue {
	return tableKey(routePK(host), edgeSK)
}

// Due work: a route whose domain is pending and a release in progress carry GSI2
// keys (the index is sparse), sorted by when they are due, so that the domain
// worker reads what is due with one Query. One partition is enough: pending
// domains are few (an unverified one is released within days).
const domainDuePK = "DOMAINDUE"

// domainDueSK sorts by due time (formatTime is fixed-width), then host.
func domainDueSK(due, host string) string { return due + "#" + host }

// domainDueBefore bounds a Query of what is due at or before the time due: '$'
// sorts right after '#'.
func domainDueBefore(due string) string { return due + "$" }

// Rate-limit counters: one item per kind, subject and fixed window (its start in
// Unix seconds), counted with a conditional update; the window being in the key,
// a new window starts from nothing, and TTL removes the old ones.
func rateKey(kind, subject string, windowStart int64) map[string]types.AttributeValue {
	return tableKey("RATE#"+kind+"#"+subject, "WINDOW#"+strconv.FormatInt(windowStart, 10))
}

// Idempotency keys: one item per scope (who sent the key) and key, named by the
// SHA-256 of both, so that a key of any length or content makes a bounded,
// well-formed key and two callers' keys never meet. TTL removes them.
const idempotencySK = "KEY"

func idempotencyKey(scope, key string) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(scope + "\x00" + key)) // the key is printable ASCII: no NUL
	return tableKey("IDEMPOTENCY#"+hex.EncodeToString(sum[:]), idempotencySK)
}

// Analytics buckets: one item per route host and hour or day, in the host's own
// partition, so that a series is one Query of a range of SKs. The hour is
// "2006-01-02T15Z" and the day "2006-01-02": fixed width, so text order is time
// order.
const (
	statsHourSKOf = "H#"
	statsDaySKOf  = "D#"
	statsHour     = "2006-01-02T15Z"
	statsDay      = "2006-01-02"
)

func statsPK(host string) string { return "STATS#" + host }

// statsSK is the SK of the bucket of granularity g starting at start.
func statsSK(g string, start time.Time) string {
	if g == reroute.GranularityDay {
		return statsDaySKOf + start.UTC().Format(statsDay)
	}
	return statsHourSKOf + start.UTC().Format(statsHour)
}

func statsKey(host, g string, start time.Time) map[string]types.AttributeValue {
	return tableKey(statsPK(host), statsSK(g, start))
}

// Log object markers: one per part (transaction) of a log object's counts,
// written in that transaction, so that the part is applied once. The source is
// hashed: an S3 key is up to 1,024 bytes and any characters.
func logObjectKey(source string, part int) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(source))
	return tableKey("LOGOBJ#"+hex.EncodeToString(sum[:]), "PART#"+strconv.Itoa(part))
}

// OAuth app items are keyed by client id, so that the token endpoint finds the
// client with one GetItem; GSI1 lists the apps an org registered.
const (
	oauthAppSK        = "APP"
	oauthAppGSI1SKOf  = "OAUTHAPP#"
	oauthAppGSI1SKEnd = "OAUTHAPP$"
)

func oauthAppPK(clientID string) string     { return "OAUTHAPP#" + clientID }
func oauthAppGSI1SK(clientID string) string { return oauthAppGSI1SKOf + clientID }

// oauthAppKey is the primary key of an app.
func oauthAppKey(clientID string) map[string]types.AttributeValue {
	return tableKey(oauthAppPK(clientID), oauthAppSK)
}

// Grant items live in their org's partition, in (email, client) order, so that a
// user's grants in an org are one range and every grant of the org another; GSI1
// finds an app's grants across orgs, for deleting the app.
const (
	oauthGrantSKOf  = "OAUTHGRANT#"
	oauthGrantSKEnd = "OAUTHGRANT$"
)

func oauthGrantSK(email, clientID string) string  { return oauthGrantSKOf + email + "#" + clientID }
func oauthGrantUserSK(email string) string        { return oauthGrantSKOf + email + "#" }
func oauthGrantGSI1SK(orgID, email string) string { return "OAUTHGRANT#" + orgID + "#" + email }

// oauthGrantKey is the primary key of email's grant to clientID in orgID.
func oauthGrantKey(orgID, email, clientID string) map[string]types.AttributeValue {
	return tableKey(orgPK(orgID), oauthGrantSK(email, clientID))
}

// Authorization items hold the hashes of every token one authorization (a
// fosite request id) has issued, so that revoking it is one consistent read (or
// an atomic delete returning them) rather than an eventually consistent index.
const oauthRequestSK = "REQ"

func oauthRequestKey(requestID string) map[string]types.AttributeValue {
	return tableKey("OAUTHREQ#"+requestID, oauthRequestSK)
}

// Token items (codes, PKCE challenges, access and refresh tokens) are keyed by
// kind and the SHA-256 of their signature: the token itself is never stored.
const oauthTokenSK = "TOKEN"

func oauthTokenKey(kind reroute.OAuthTokenKind, hash string) map[string]types.AttributeValue {
	return tableKey("OAUTHTOK#"+string(kind)+"#"+hash, oauthTokenSK)
}

// Outbox items: one per event, written in the transaction of the change it
// tells, so that an event exists if and only if its change committed. The table's
// stream carries each new one to the dispatcher (its event source mapping filters
// on the prefix), and TTL removes it once every delivery has long been queued.
//
//	event    OUTBOX#<event id>  EVENT            (expiresAt: a week after the event)
const (
	outboxPKOf = "OUTBOX#"
	outboxSK   = "EVENT"
)

func outboxKey(eventID string) map[string]types.AttributeValue {
	return tableKey(outboxPKOf+eventID, outboxSK)
}

// Webhook endpoints live in their org's partition, so that an org lists them
// with one Query and the dispatcher finds the endpoints of an event's org the
// same way. Their deliveries live in the endpoint's own partition, newest first
// by a time-ordered SK, and expire.
//
//	endpoint WEBHOOK#<org>      EP#<id>
//	delivery WHDELIV#<org>#<id> D#<time>#<event id>   (expiresAt: 30 days)
//	notify   ORG#<org>          NOTIFY#<email>   (a member's email preferences)
const (
	webhookSKOf  = "EP#"
	deliverySKOf = "D#"
)

func webhookPK(orgID string) string { return "WEBHOOK#" + orgID }

func webhookKey(orgID, id string) map[string]types.AttributeValue {
	return tableKey(webhookPK(orgID), webhookSKOf+id)
}

func deliveryPK(orgID, endpointID string) string { return "WHDELIV#" + orgID + "#" + endpointID }

func deliveryKey(orgID, endpointID string, at time.Time, eventID string, attempt int) map[string]types.AttributeValue {
	return tableKey(deliveryPK(orgID, endpointID),
		deliverySKOf+at.UTC().Format("20060102T150405.000000000Z")+"#"+eventID+"#"+strconv.Itoa(attempt))
}

const notifySKOf = "NOTIFY#"

func notifyKey(orgID, email string) map[string]types.AttributeValue {
	return tableKey(orgPK(orgID), notifySKOf+email)
}

// Signing keys the service makes for itself (the unsubscribe links' HMAC key):
// one item each, created once by whichever function needs it first.
//
//	key      SIGNKEY#<name>     KEY
func signingKeyKey(name string) map[string]types.AttributeValue {
	return tableKey("SIGNKEY#"+name, "KEY")
}

// Destination items hold what the monitor found of a route's target, apart
// from the route item: an hourly probe must not rewrite the route (the edge
// sync reads every change of a hostname's partition). TTL removes one whose
// route is gone and no longer probed.
//
//	dest     DEST#<host>        STATE            (expiresAt: a week after the last probe)
func destinationKey(host string) map[string]types.AttributeValue {
	return tableKey("DEST#"+host, "STATE")
}
