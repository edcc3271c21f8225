package dynamo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Path rules are stored apart from their route item, in chunk items of the
// hostname's partition (see keys.go), so that a route may hold more rules than
// one item can: "The maximum item size in DynamoDB is 400 KB, which includes both
// attribute name binary length (UTF-8 length) and attribute value lengths"
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items).
//
// Each write of a route's rules is a new version: its chunks are written first,
// unseen, since the route item names the version its readers read; then one
// transaction points the route item at the new version; then the older versions'
// chunks are deleted. A reader thus sees the old rules or the new, never a mix,
// and a failure part way leaves at worst unreferenced chunks, which the next
// write of the route's rules (or its deletion) removes.

// Chunk attributes besides the keys.
const (
	attrRules = "rules" // a chunk's rules, encodeRules' JSON
)

// Route item attributes that describe its rules.
const (
	attrRuleCount    = "ruleCount"
	attrRuleChunks   = "ruleChunks"
	attrRulesVersion = "rulesVersion"
)

// ruleChunkBytes bounds the encoded rules of one chunk: with its keys and
// attribute names, a chunk stays well under the 400 KB item limit, and 25 chunks
// under BatchWriteItem's 16 MB.
const ruleChunkBytes = 300 << 10

// maxRuleChunks is the most chunks the index's fixed width numbers.
const maxRuleChunks = 9999

// Rule flags, the fourth element of an encoded rule.
const (
	ruleSubpath = 1 << iota
	ruleKeepSuffix
	ruleKeepQuery
)

// appendRule appends one rule's encoding, [source,target,status,flags]: a JSON
// array without attribute names, the shortest that stays readable in the console.
func appendRule(dst []byte, r reroute.PathRule) []byte {
	flags := 0
	if r.Subpath {
		flags |= ruleSubpath
	}
	if r.KeepSuffix {
		flags |= ruleKeepSuffix
	}
	if r.KeepQuery {
		flags |= ruleKeepQuery
	}
	dst = append(dst, '[')
	dst = appendJSONString(dst, r.Source)
	dst = append(dst, ',')
	dst = appendJSONString(dst, r.Target)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(flags), 10)
	return append(dst, ']')
}

// appendJSONString appends s as a JSON string. Canonical paths and targets are
// printable ASCII, written as they are; anything else goes through encoding/json,
// without its HTML escaping, which only lengthens.
func appendJSONString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// chunkRules encodes rules into chunks of at most ruleChunkBytes each, in order,
// each a JSON array of encoded rules; none for no rules.
func chunkRules(rules []reroute.PathRule) ([][]byte, error) {
	var chunks [][]byte
	var cur []byte
	var one []byte
	for i, r := range rules {
		if !utf8.ValidString(r.Source) || !utf8.ValidString(r.Target) {
			return nil, &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
				Fields: []reroute.FieldError{{Field: fmt.Sprintf("rules[%d]", i), Message: "a rule's source and target are UTF-8 text"}}}
		}
		one = appendRule(one[:0], r)
		if len(one)+2 > ruleChunkBytes {
			return nil, fmt.Errorf("rule %d encodes to %d bytes, more than a chunk holds", i, len(one))
		}
		// The chunk's "[" and "]", and a comma before all but its first rule.
		if len(cur) > 0 && len(cur)+1+len(one)+1 > ruleChunkBytes {
			chunks = append(chunks, append(cur, ']'))
			cur = nil
		}
		if len(cur) == 0 {
			cur = append(make([]byte, 0, min(ruleChunkBytes, 64<<10)), '[')
		} else {
			cur = append(cur, ',')
		}
		cur = append(cur, one...)
	}
	if len(cur) > 0 {
		chunks = append(chunks, append(cur, ']'))
	}
	if len(chunks) > maxRuleChunks {
		return nil, fmt.Errorf("%d rules make %d chunks, more than %d", len(rules), len(chunks), maxRuleChunks)
	}
	return chunks, nil
}

// decodeRules appends the rules of one chunk to dst.
func decodeRules(dst []reroute.PathRule, chunk string) ([]reroute.PathRule, error) {
	var rows [][4]json.RawMessage
	if err := json.Unmarshal([]byte(chunk), &rows); err != nil {
		return dst, fmt.Errorf("decoding a chunk of rules: %w", err)
	}
	for i, row := range rows {
		var r reroute.PathRule
		var status, flags int
		var err error
		if r.Source, err = jsonString(row[0]); err == nil {
			if r.Target, err = jsonString(row[1]); err == nil {
				if status, err = strconv.Atoi(string(row[2])); err == nil {
					flags, err = strconv.Atoi(string(row[3]))
				}
			}
		}
		if err != nil {
			return dst, fmt.Errorf("decoding rule %d of a chunk: %w", i, err)
		}
		r.Status = status
		r.Subpath, r.KeepSuffix, r.KeepQuery = flags&ruleSubpath != 0, flags&ruleKeepSuffix != 0, flags&ruleKeepQuery != 0
		dst = append(dst, r)
	}
	return dst, nil
}

// jsonString decodes a JSON string, without encoding/json when it has no escapes.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// nextRulesVersion is the version a write of rules read at prev gives them. It is
// the time in milliseconds above 20 random bits, and more than prev: a version
// moves on with every write, and two writers of one route's rules (or a new
// route's, on a hostname whose old chunks are not yet deleted) pick different
// versions, and so different chunk keys, unless they write in the same
// millisecond and draw the same bits (one chance in a million). Versions grow
// with time, so that "older than the version just written" is what a cleanup
// may delete.
func (s *Store) nextRulesVersion(prev int64) int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's documentation)
	bits := int64(binary.LittleEndian.Uint64(b[:]) & (1<<20 - 1))
	v := s.now().UnixMilli()<<20 | bits
	if v <= prev {
		v = prev + 1 + bits
	}
	return v
}

// putRuleChunks writes chunks as version of host's rules, 25 to a BatchWriteItem.
func (s *Store) putRuleChunks(ctx context.Context, host string, version int64, chunks [][]byte) error {
	reqs := make([]types.WriteRequest, len(chunks))
	for i, c := range chunks {
		item := ruleChunkKey(host, version, i)
		item[attrRules] = avS(string(c))
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
	}
	return s.batchWrite(ctx, reqs)
}

// deleteRuleChunks deletes chunks of host's rules by key: best effort, as a
// chunk no route item names is never read.
func (s *Store) deleteRuleChunks(ctx context.Context, host string, version int64, chunks int) {
	keys := make([]map[string]types.AttributeValue, chunks)
	for i := range keys {
		keys[i] = ruleChunkKey(host, version, i)
	}
	_ = s.deleteKeys(context.WithoutCancel(ctx), keys)
}

// sweepRuleChunks deletes the chunks of host's rules whose version is below
// below (best effort): those of the versions before the one just written, and
// any left by a write that failed. A version at or above it may be one being
// written, or the current one, and is left alone.
func (s *Store) sweepRuleChunks(ctx context.Context, host string, below int64) {
	if below <= 0 {
		return
	}
	// BETWEEN is inclusive; ruleVersionSK(below) itself is no chunk's key.
	_ = s.deleteQueried(context.WithoutCancel(ctx), &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(routePK(host)), ":lo": avS(rulesSKOf), ":hi": avS(ruleVersionSK(below)),
		},
		ProjectionExpression: aws.String("#pk, #sk"),
	})
}

// errRuleLimit says which plan allows how many rules per route.
func errRuleLimit(plan string, limit int) error {
	who := "your plan"
	if plan != "" {
		who = "the " + plan + " plan"
	}
	noun := "path rules"
	if limit == 1 {
		noun = "path rule"
	}
	return &reroute.Error{Code: reroute.CodeLimit, Reason: "plan_limit_reached",
		Message: fmt.Sprintf("%s allows %s %s per route: upgrade to add more", who, thousands(limit), noun)}
}

// thousands writes n with commas between groups of three digits: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return s
	}
	var b []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	return string(b)
}

func errRouteChanged() error {
	return &reroute.Error{Code: reroute.CodeConflict, Reason: "route_changed",
		Message: "the route's rules changed since they were read: read it again"}
}

// ruleLimitHolds is the condition that an org item allows n rules per route; an
// org stored before rule limits existed has none and allows the free plan's.
func ruleLimitHolds(u *updateExpr, n int) string {
	lim, val := u.name(attrRuleLimit), u.value(":rules", avN(n))
	if n <= legacyRuleLimit() {
		return "(attribute_not_exists(" + lim + ") OR " + lim + " >= " + val + ")"
	}
	return lim + " >= " + val
}

// ruleRoom refuses n rules per route beyond an org's rule limit.
func ruleRoom(n int) func(orgItem) error {
	return func(it orgItem) error {
		if limit := it.ruleLimit(); n > limit {
			return errRuleLimit(it.Plan, limit)
		}
		return nil
	}
}

// routeRoom refuses a new route with n rules, as CreateRoute's count does.
func routeRoom(n int) func(orgItem) error {
	rules, routes := ruleRoom(n), countLimit("route", func(it orgItem) (int, int) { return it.RouteCount, it.RouteLimit })
	return func(it orgItem) error {
		if err := rules(it); err != nil {
			return err
		}
		return routes(it)
	}
}

// checkRuleRoom refuses n rules per route beyond orgID's rule limit before
// anything is written, so that a refused write of thousands of rules costs one
// read; the write's transaction checks it again, atomically. A missing org is
// left to the transaction to report.
func (s *Store) checkRuleRoom(ctx context.Context, orgID string, n int) error {
	if n == 0 {
		return nil
	}
	it, ok, err := s.readOrg(ctx, orgID)
	if err != nil || !ok || it.Deleting {
		return err
	}
	return ruleRoom(n)(it)
}

// routePartition is what one Query of a hostname's partition (the route item and
// its rule chunks) holds.
type routePartition struct {
	route  map[string]types.AttributeValue // nil when there is no route
	chunks map[int64][]chunkItem           // by version, in SK (chunk) order
	edge   map[string]types.AttributeValue // the edge record; nil when none
}

type chunkItem struct {
	index int
	rules string
}

// queryRoutePartition reads host's route item and rule chunks with one Query
// (more pages if they exceed 1 MB). The redirector's read (projected) gets what
// it needs of the route item; the dashboard's, all of it.
func (s *Store) queryRoutePartition(ctx context.Context, host string, consistent, projected bool) (routePartition, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(routePK(host)), ":lo": avS(routeSK), ":hi": avS(rulesSKEnd)},
		ConsistentRead:            aws.Bool(consistent),
	}
	if projected {
		in.ProjectionExpression, in.ExpressionAttributeNames = s.partitionProjection, s.partitionNames
	}
	return s.queryChunks(ctx, in)
}

// queryVersionChunks reads the chunks of one version of host's rules.
func (s *Store) queryVersionChunks(ctx context.Context, host string, version int64, consistent bool) (routePartition, error) {
	prefix := ruleVersionSK(version)
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :v)"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(routePK(host)), ":v": avS(prefix)},
		ConsistentRead:            aws.Bool(consistent),
	}
	return s.queryChunks(ctx, in)
}

// queryChunks runs a Query of a hostname's partition, every page.
func (s *Store) queryChunks(ctx context.Context, in *dynamodb.QueryInput) (routePartition, error) {
	var p routePartition
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return routePartition{}, unavailable(err)
		}
		for _, item := range out.Items {
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			switch {
			case sk == nil:
			case sk.Value == routeSK:
				p.route = item
			case sk.Value == edgeSK:
				p.edge = item
			default:
				v, i, ok := parseRuleChunkSK(sk.Value)
				data, _ := item[attrRules].(*types.AttributeValueMemberS)
				if !ok || data == nil {
					continue
				}
				if p.chunks == nil {
					p.chunks = map[int64][]chunkItem{}
				}
				p.chunks[v] = append(p.chunks[v], chunkItem{index: i, rules: data.Value})
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return p, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// errIncompleteRules says that a read found fewer chunks than the route item
// names: an eventually consistent read that missed the newest writes, or chunks
// lost.
var errIncompleteRules = errors.New("the route's rules are incomplete")

// rulesOf decodes the rules the route item it names: count rules in n chunks of
// version, which p must hold all of.
func (p routePartition) rulesOf(version int64, n, count int) ([]reroute.PathRule, error) {
	if count == 0 {
		return nil, nil
	}
	chunks := p.chunks[version]
	if len(chunks) < n {
		return nil, errIncompleteRules
	}
	rules := make([]reroute.PathRule, 0, count)
	for i, c := range chunks[:n] {
		if c.index != i {
			return nil, errIncompleteRules
		}
		var err error
		if rules, err = decodeRules(rules, c.rules); err != nil {
			return nil, err
		}
	}
	if len(rules) != count {
		return nil, fmt.Errorf("%w: %d rules in %d chunks, the route counts %d", errIncompleteRules, len(rules), n, count)
	}
	return rules, nil
}

// decode reads the partition's route item and the rules it names.
func (p routePartition) decode(host string) (routeItem, []reroute.PathRule, error) {
	var it routeItem
	if err := attributevalue.UnmarshalMap(p.route, &it); err != nil {
		return routeItem{}, nil, fmt.Errorf("decoding route %s: %w", host, err)
	}
	rules, err := p.rulesOf(it.RulesVersion, it.RuleChunks, it.RuleCount)
	if err != nil {
		return routeItem{}, nil, fmt.Errorf("reading the rules of %s: %w", host, err)
	}
	return it, rules, nil
}

// rulesWrite is a write of a route's rules in progress: its chunks are stored
// under version, not yet named by the route item.
type rulesWrite struct {
	host    string
	version int64
	count   int
	chunks  int
}

// writeRules stores rules as a new version of host's rules, after prev, and
// returns it; a route without rules writes no chunks.
func (s *Store) writeRules(ctx context.Context, host string, prev int64, rules []reroute.PathRule) (rulesWrite, error) {
	chunks, err := chunkRules(rules)
	if err != nil {
		return rulesWrite{}, err
	}
	w := rulesWrite{host: host, version: s.nextRulesVersion(prev), count: len(rules), chunks: len(chunks)}
	if err := s.putRuleChunks(ctx, host, w.version, chunks); err != nil {
		s.abandon(ctx, w)
		return rulesWrite{}, err
	}
	return w, nil
}

// abandon deletes the chunks of a write whose transaction failed (best effort).
func (s *Store) abandon(ctx context.Context, w rulesWrite) {
	if w.chunks > 0 {
		s.deleteRuleChunks(ctx, w.host, w.version, w.chunks)
	}
}

// committed deletes what a write's transaction made obsolete: every chunk of an
// older version (best effort).
func (s *Store) committed(ctx context.Context, w rulesWrite) {
	s.sweepRuleChunks(ctx, w.host, w.version)
}
