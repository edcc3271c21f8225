package dynamo

import (
	"context"

	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// OAuth attributes besides the keys.
const (
	attrOAuthTokens    = "tokens"    // an authorization's "<kind>#<hash>" set
	attrOAuthRequests  = "requests"  // a grant's set of authorization ids
	attrOAuthRequestID = "requestId" // a token's authorization
	attrOAuthActive    = "active"
)

type oauthAppItem struct {
	PK           string   `dynamodbav:"PK"`
	SK           string   `dynamodbav:"SK"`
	GSI1PK       string   `dynamodbav:"GSI1PK"`
	GSI1SK       string   `dynamodbav:"GSI1SK"`
	ClientID     string   `dynamodbav:"clientId"`
	OrgID        string   `dynamodbav:"orgId"`
	Name         string   `dynamodbav:"name"`
	RedirectURIs []string `dynamodbav:"redirectUris"`
	Confidential bool     `dynamodbav:"confidential"`
	SecretHash   string   `dynamodbav:"secretHash,omitempty"`
	SecretHint   string   `dynamodbav:"secretHint,omitempty"`
	CreatedBy    string   `dynamodbav:"createdBy,omitempty"`
	CreatedAt    string   `dynamodbav:"createdAt,omitempty"`
	UpdatedAt    string   `dynamodbav:"updatedAt,omitempty"`
}

func newOAuthAppItem(a reroute.OAuthApp) oauthAppItem {
	return oauthAppItem{
		PK: oauthAppPK(a.ClientID), SK: oauthAppSK, GSI1PK: orgPK(a.OrgID), GSI1SK: oauthAppGSI1SK(a.ClientID),
		ClientID: a.ClientID, OrgID: a.OrgID, Name: a.Name, RedirectURIs: a.RedirectURIs, Confidential: a.Confidential,
		SecretHash: a.SecretHash, SecretHint: a.SecretHint, CreatedBy: a.CreatedBy,
		CreatedAt: formatTime(a.CreatedAt), UpdatedAt: formatTime(a.UpdatedAt),
	}
}

func (it oauthAppItem) app() reroute.OAuthApp {
	return reroute.OAuthApp{
		ClientID: it.ClientID, OrgID: it.OrgID, Name: it.Name, RedirectURIs: it.RedirectURIs, Confidential: it.Confidential,
		SecretHash: it.SecretHash, SecretHint: it.SecretHint, CreatedBy: it.CreatedBy,
		CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt),
	}
}

type oauthGrantItem struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	GSI1PK    string   `dynamodbav:"GSI1PK"`
	GSI1SK    string   `dynamodbav:"GSI1SK"`
	OrgID     string   `dynamodbav:"orgId"`
	Email     string   `dynamodbav:"email"`
	ClientID  string   `dynamodbav:"clientId"`
	AppName   string   `dynamodbav:"appName"`
	Scopes    []string `dynamodbav:"scopes"`
	CreatedAt string   `dynamodbav:"createdAt"`
	UpdatedAt string   `dynamodbav:"updatedAt"`
	Requests  []string `dynamodbav:"requests,stringset,omitempty"`
}

func (it oauthGrantItem) grant() reroute.OAuthGrant {
	return reroute.OAuthGrant{OrgID: it.OrgID, Email: it.Email, ClientID: it.ClientID, AppName: it.AppName,
		Scopes: it.Scopes, CreatedAt: parseTime(it.CreatedAt), UpdatedAt: parseTime(it.UpdatedAt)}
}

type oauthRequestItem struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	OrgID     string   `dynamodbav:"orgId"`
	Email     string   `dynamodbav:"email"`
	ClientID  string   `dynamodbav:"clientId"`
	Tokens    []string `dynamodbav:"tokens,stringset,omitempty"`
	ExpiresAt int64    `dynamodbav:"expiresAt"`
}

type oauthTokenItem struct {
	PK        string   `dynamodbav:"PK"`
	SK        string   `dynamodbav:"SK"`
	Kind      string   `dynamodbav:"kind"`
	Hash      string   `dynamodbav:"hash"`
	RequestID string   `dynamodbav:"requestId"`
	ClientID  string   `dynamodbav:"clientId"`
	OrgID     string   `dynamodbav:"orgId"`
	Email     string   `dynamodbav:"email"`
	Scopes    []string `dynamodbav:"scopes"`
	Active    bool     `dynamodbav:"active"`
	ExpiresAt int64    `dynamodbav:"expiresAt"`
	Data      []byte   `dynamodbav:"data"`
}

func (it oauthTokenItem) token() reroute.OAuthToken {
	return reroute.OAuthToken{Kind: reroute.OAuthTokenKind(it.Kind), Hash: it.Hash, RequestID: it.RequestID,
		ClientID: it.ClientID, OrgID: it.OrgID, Email: it.Email, Scopes: it.Scopes, Active: it.Active,
		ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC(), Data: it.Data}
}

func errOAuthAppNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "oauth_app_not_found", Message: "no such app"}
}

func errOAuthGrantNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "oauth_grant_not_found", Message: "no such authorization"}
}

func errOAuthTokenNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "oauth_token_not_found", Message: "no such token"}
}

func validOAuthKind(k reroute.OAuthTokenKind) bool {
	switch k {
	case reroute.OAuthCode, reroute.OAuthPKCE, reroute.OAuthAccess, reroute.OAuthRefresh:
		return true
	}
	return false
}

// validRequestID accepts the ids fosite gives requests (UUIDs), and nothing that
// could not sit in a key.
func validRequestID(id string) bool { return validKeyID(id) && !strings.Contains(id, "#") }

// validEmailKey accepts an email that can sit in a key.
func validEmailKey(e string) bool {
	return e != "" && len(e) <= 320 && !strings.ContainsAny(e, "# \t\r\n")
}

// CreateOAuthApp stores a new app, in one transaction with a check that its org
// is live.
func (s *Store) CreateOAuthApp(ctx context.Context, a reroute.OAuthApp) error {
	if !reroute.ValidOAuthClientID(a.ClientID) || a.OrgID == "" {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "an app needs a client id and an org"}
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	item, err := attributevalue.MarshalMap(newOAuthAppItem(a))
	if err != nil {
		return fmt.Errorf("encoding app %s: %w", a.ClientID, err)
	}
	err = s.transact(ctx,
		types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.table), Item: item,
			ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
		}},
		s.orgCheck(a.OrgID),
	)
	if i, failed := conditionFailed(err); failed {
		if i == 1 {
			return errOrgNotFound()
		}
		return &reroute.Error{Code: reroute.CodeConflict, Reason: "oauth_app_exists", Message: "that app already exists"}
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// GetOAuthApp reads an app consistently, so that a deleted app or a rotated
// secret takes effect at once.
func (s *Store) GetOAuthApp(ctx context.Context, clientID string) (reroute.OAuthApp, error) {
	if !reroute.ValidOAuthClientID(clientID) {
		return reroute.OAuthApp{}, errOAuthAppNotFound()
	}
	it, found, err := getItem[oauthAppItem](ctx, s, oauthAppKey(clientID))
	if err != nil {
		return reroute.OAuthApp{}, err
	}
	if !found {
		return reroute.OAuthApp{}, errOAuthAppNotFound()
	}
	return it.app(), nil
}

// ListOAuthApps pages through orgID's apps in client id order, on GSI1; the
// cursor holds the last client id.
func (s *Store) ListOAuthApps(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.OAuthApp], error) {
	var p reroute.Page[reroute.OAuthApp]
	size, err := page.Size()
	if err != nil {
		return p, err
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(indexGSI1),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK, "#sk": attrGSI1SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(orgPK(orgID)), ":from": avS(oauthAppGSI1SKOf), ":to": avS(oauthAppGSI1SKEnd),
		},
		Limit: aws.Int32(int32(size + 1)), //nolint:gosec // G115: PageRequest.Size is 1 to 200
	}
	if page.Cursor != "" {
		after, err := decodeCursorOf(page.Cursor, reroute.ValidOAuthClientID)
		if err != nil {
			return p, err
		}
		k := oauthAppKey(after)
		k[attrGSI1PK], k[attrGSI1SK] = avS(orgPK(orgID)), avS(oauthAppGSI1SK(after))
		in.ExclusiveStartKey = k
	}
	var items []oauthAppItem
	if err := s.queryItems(ctx, in, &items); err != nil {
		return p, err
	}
	if len(items) > size {
		items = items[:size]
		p.NextCursor = encodeCursor(items[size-1].ClientID)
	}
	p.Items = make([]reroute.OAuthApp, len(items))
	for i, it := range items {
		p.Items[i] = it.app()
	}
	return p, nil
}

// queryItems runs one Query and decodes its items.
func (s *Store) queryItems(ctx context.Context, in *dynamodb.QueryInput, out any) error {
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return unavailable(err)
	}
	if err := attributevalue.UnmarshalListOfMaps(res.Items, out); err != nil {
		return fmt.Errorf("decoding query results: %w", err)
	}
	return nil
}

// UpdateOAuthApp replaces an app's name, redirect URIs and secret, on condition
// that it is orgID's.
func (s *Store) UpdateOAuthApp(ctx context.Context, a reroute.OAuthApp) error {
	if !reroute.ValidOAuthClientID(a.ClientID) {
		return errOAuthAppNotFound()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = s.now()
	}
	u := newUpdateExpr()
	u.setS("name", a.Name)
	u.set("redirectUris", u.value(":uris", listOfStrings(a.RedirectURIs)))
	u.setS("secretHash", a.SecretHash)
	u.setS("secretHint", a.SecretHint)
	u.setS("updatedAt", formatTime(a.UpdatedAt))
	u.names["#org"] = attrOrgID
	u.values[":org"] = avS(a.OrgID)
	err := retryConflicts(ctx, func() error {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: oauthAppKey(a.ClientID),
			UpdateExpression:          aws.String(u.expression()),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #org = :org"),
			ExpressionAttributeNames:  u.names,
			ExpressionAttributeValues: u.values,
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return errOAuthAppNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

func listOfStrings(v []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(v))
	for i, s := range v {
		l[i] = avS(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// DeleteOAuthApp deletes orgID's app, then every grant of it (found on GSI1) with
// their tokens. With the app gone the token endpoint refuses its client and the
// API its access tokens at once, whatever the index has not shown yet.
func (s *Store) DeleteOAuthApp(ctx context.Context, orgID, clientID string) error {
	if !reroute.ValidOAuthClientID(clientID) {
		return errOAuthAppNotFound()
	}
	err := retryConflicts(ctx, func() error {
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: oauthAppKey(clientID),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #org = :org"),
			ExpressionAttributeNames:  map[string]string{"#org": attrOrgID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":org": avS(orgID)},
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return errOAuthAppNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(indexGSI1),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(oauthAppPK(clientID)),
		},
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return unavailable(err)
		}
		var grants []oauthGrantItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &grants); err != nil {
			return fmt.Errorf("decoding grants of app %s: %w", clientID, err)
		}
		for _, g := range grants {
			if err := s.RevokeOAuthGrant(ctx, g.OrgID, g.Email, g.ClientID); err != nil && !reroute.IsNotFound(err) {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PutOAuthGrant records a consent, keeping the first consent's time and the
// authorizations already issued, on condition that the app still exists.
func (s *Store) PutOAuthGrant(ctx context.Context, g reroute.OAuthGrant) error {
	if !validEmailKey(g.Email) || g.OrgID == "" || !reroute.ValidOAuthClientID(g.ClientID) {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "a grant needs an org, a user and an app"}
	}
	now := g.UpdatedAt
	if now.IsZero() {
		now = s.now()
	}
	scopes := g.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	key := oauthGrantKey(g.OrgID, g.Email, g.ClientID)
	err := s.transact(ctx,
		types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: key,
			UpdateExpression: aws.String("SET #gpk = :gpk, #gsk = :gsk, #org = :org, #email = :email, #client = :client, " +
				"#name = :name, #scopes = :scopes, #updated = :now, #created = if_not_exists(#created, :now)"),
			ExpressionAttributeNames: map[string]string{"#gpk": attrGSI1PK, "#gsk": attrGSI1SK, "#org": attrOrgID,
				"#email": "email", "#client": "clientId", "#name": "appName", "#scopes": "scopes",
				"#updated": "updatedAt", "#created": "createdAt"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":gpk": avS(oauthAppPK(g.ClientID)), ":gsk": avS(oauthGrantGSI1SK(g.OrgID, g.Email)),
				":org": avS(g.OrgID), ":email": avS(g.Email), ":client": avS(g.ClientID), ":name": avS(g.AppName),
				":scopes": listOfStrings(scopes), ":now": avS(formatTime(now)),
			},
		}},
		types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: aws.String(s.table), Key: oauthAppKey(g.ClientID),
			ConditionExpression: aws.String("attribute_exists(" + attrPK + ")"),
		}},
	)
	if _, failed := conditionFailed(err); failed {
		return errOAuthAppNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// ListOAuthGrants pages through orgID's grants (of email, when not ""), read
// consistently from the org's partition; the cursor holds the last SK's tail.
func (s *Store) ListOAuthGrants(ctx context.Context, orgID, email string, page reroute.PageRequest) (reroute.Page[reroute.OAuthGrant], error) {
	var p reroute.Page[reroute.OAuthGrant]
	size, err := page.Size()
	if err != nil {
		return p, err
	}
	from, to := oauthGrantSKOf, oauthGrantSKEnd
	if email != "" {
		if !validEmailKey(email) {
			return p, nil
		}
		from = oauthGrantUserSK(email)
		to = strings.TrimSuffix(from, "#") + "$"
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(orgPK(orgID)), ":from": avS(from), ":to": avS(to),
		},
		ConsistentRead: aws.Bool(true),
		Limit:          aws.Int32(int32(size + 1)), //nolint:gosec // G115: PageRequest.Size is 1 to 200
	}
	if page.Cursor != "" {
		tail, err := decodeCursorOf(page.Cursor, func(s string) bool { return s != "" && len(s) < 512 })
		if err != nil {
			return p, err
		}
		sk := oauthGrantSKOf + tail
		if sk < from || sk > to {
			return p, &reroute.Error{Code: reroute.CodeInvalid, Reason: "invalid_cursor", Message: "the cursor is not valid: start again from the first page"}
		}
		in.ExclusiveStartKey = tableKey(orgPK(orgID), sk)
	}
	var items []oauthGrantItem
	if err := s.queryItems(ctx, in, &items); err != nil {
		return p, err
	}
	if len(items) > size {
		items = items[:size]
		last := items[size-1]
		p.NextCursor = encodeCursor(strings.TrimPrefix(oauthGrantSK(last.Email, last.ClientID), oauthGrantSKOf))
	}
	p.Items = make([]reroute.OAuthGrant, len(items))
	for i, it := range items {
		p.Items[i] = it.grant()
	}
	return p, nil
}

// RevokeOAuthGrant deletes the grant (returning the authorizations it held, in
// the same atomic write), then every one of them with its tokens. With the grant
// gone no new authorization can start under it, and with each authorization
// gone none of its tokens can be refreshed.
func (s *Store) RevokeOAuthGrant(ctx context.Context, orgID, email, clientID string) error {
	if !validEmailKey(email) || !reroute.ValidOAuthClientID(clientID) {
		return errOAuthGrantNotFound()
	}
	var out *dynamodb.DeleteItemOutput
	err := retryConflicts(ctx, func() error {
		var err error
		out, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: oauthGrantKey(orgID, email, clientID),
			ConditionExpression: aws.String("attribute_exists(" + attrPK + ")"),
			ReturnValues:        types.ReturnValueAllOld,
		})
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return errOAuthGrantNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	var g oauthGrantItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &g); err != nil {
		return fmt.Errorf("decoding grant: %w", err)
	}
	for _, id := range g.Requests {
		if err := s.RevokeOAuthRequest(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// CreateOAuthToken stores a token and adds its hash to its authorization, in
// one transaction. A code starts the authorization, on condition that the grant
// exists (and is added to it); every other token needs the authorization to
// still exist.
func (s *Store) CreateOAuthToken(ctx context.Context, t reroute.OAuthToken) error {
	if !validOAuthKind(t.Kind) || !validHash(t.Hash) || !validRequestID(t.RequestID) || !validEmailKey(t.Email) ||
		t.OrgID == "" || !reroute.ValidOAuthClientID(t.ClientID) || t.ExpiresAt.IsZero() {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "a token needs a kind, a hash, an authorization, a grant and an expiry"}
	}
	item, err := attributevalue.MarshalMap(oauthTokenItem{
		Kind: string(t.Kind), Hash: t.Hash, RequestID: t.RequestID, ClientID: t.ClientID, OrgID: t.OrgID,
		Email: t.Email, Scopes: t.Scopes, Active: t.Active, ExpiresAt: t.ExpiresAt.Unix(), Data: t.Data,
	})
	if err != nil {
		return fmt.Errorf("encoding token: %w", err)
	}
	for k, v := range oauthTokenKey(t.Kind, t.Hash) {
		item[k] = v
	}
	entry := &types.AttributeValueMemberSS{Value: []string{string(t.Kind) + "#" + t.Hash}}
	writes := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(s.table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}}
	if t.Kind == reroute.OAuthCode {
		req, err := attributevalue.MarshalMap(oauthRequestItem{OrgID: t.OrgID, Email: t.Email, ClientID: t.ClientID, ExpiresAt: t.ExpiresAt.Unix()})
		if err != nil {
			return fmt.Errorf("encoding authorization: %w", err)
		}
		for k, v := range oauthRequestKey(t.RequestID) {
			req[k] = v
		}
		req[attrOAuthTokens] = entry
		writes = append(writes,
			types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(s.table), Item: req,
				ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
			}},
			types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(s.table), Key: oauthGrantKey(t.OrgID, t.Email, t.ClientID),
				UpdateExpression:          aws.String("ADD #requests :id"),
				ConditionExpression:       aws.String("attribute_exists(" + attrPK + ")"),
				ExpressionAttributeNames:  map[string]string{"#requests": attrOAuthRequests},
				ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{t.RequestID}}},
			}})
	} else {
		update := "ADD #tokens :entry"
		values := map[string]types.AttributeValue{":entry": entry}
		names := map[string]string{"#tokens": attrOAuthTokens}
		if t.Kind == reroute.OAuthRefresh {
			// The authorization lives as long as its latest refresh token.
			update += " SET #ttl = :exp"
			names["#ttl"] = attrTTL
			values[":exp"] = avN(int(t.ExpiresAt.Unix()))
		}
		writes = append(writes, types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String(s.table), Key: oauthRequestKey(t.RequestID),
			UpdateExpression:          aws.String(update),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ")"),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}})
	}
	err = s.transact(ctx, writes...)
	if i, failed := conditionFailed(err); failed {
		if i == 0 {
			return &reroute.Error{Code: reroute.CodeConflict, Reason: "oauth_token_exists", Message: "that token already exists"}
		}
		return errOAuthGrantNotFound()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// GetOAuthToken reads a token consistently; one past its expiry that the TTL
// has not removed yet is not found either.
func (s *Store) GetOAuthToken(ctx context.Context, kind reroute.OAuthTokenKind, hash string) (reroute.OAuthToken, error) {
	if !validOAuthKind(kind) || !validHash(hash) {
		return reroute.OAuthToken{}, errOAuthTokenNotFound()
	}
	it, found, err := getItem[oauthTokenItem](ctx, s, oauthTokenKey(kind, hash))
	if err != nil {
		return reroute.OAuthToken{}, err
	}
	if !found || !s.now().Before(time.Unix(it.ExpiresAt, 0)) {
		return reroute.OAuthToken{}, errOAuthTokenNotFound()
	}
	return it.token(), nil
}

// DeactivateOAuthToken marks a token used, on condition that it was not: of two
// concurrent uses of one code or refresh token, one wins.
func (s *Store) DeactivateOAuthToken(ctx context.Context, kind reroute.OAuthTokenKind, hash string) error {
	if !validOAuthKind(kind) || !validHash(hash) {
		return errOAuthTokenNotFound()
	}
	var requestID string
	err := retryConflicts(ctx, func() error {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: oauthTokenKey(kind, hash),
			UpdateExpression:          aws.String("SET #active = :false"),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #active = :true"),
			ExpressionAttributeNames:  map[string]string{"#active": attrOAuthActive},
			ExpressionAttributeValues: map[string]types.AttributeValue{":false": &types.AttributeValueMemberBOOL{Value: false}, ":true": &types.AttributeValueMemberBOOL{Value: true}},
			ReturnValues:              types.ReturnValueAllNew,
		})
		if err == nil {
			if v, ok := out.Attributes[attrOAuthRequestID].(*types.AttributeValueMemberS); ok {
				requestID = v.Value
			}
		}
		return err
	})
	if _, failed := conditionFailed(err); failed {
		return &reroute.Error{Code: reroute.CodeConflict, Reason: "oauth_token_inactive", Message: "the token was already used"}
	}
	if err != nil {
		return unavailable(err)
	}
	if kind == reroute.OAuthRefresh && requestID != "" {
		// Best effort: the token is spent either way, and failing here would
		// make the app's retry look like reuse. A missed one only leaves an entry.
		s.forgetOAuthToken(ctx, requestID, kind, hash)
	}
	return nil
}

// forgetOAuthToken drops a rotated refresh token from its authorization's set.
// Every refresh adds one, so an app refreshing hourly would otherwise grow the
// authorization item past DynamoDB's 400 KB in months; the rotated token's own
// item stays, inactive, until its TTL, which is all that reuse detection needs
// (a reused token revokes the authorization, found by the request id it holds).
func (s *Store) forgetOAuthToken(ctx context.Context, requestID string, kind reroute.OAuthTokenKind, hash string) {
	_, _ = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table), Key: oauthRequestKey(requestID),
		UpdateExpression:          aws.String("DELETE #tokens :gone"),
		ConditionExpression:       aws.String("attribute_exists(" + attrPK + ")"),
		ExpressionAttributeNames:  map[string]string{"#tokens": attrOAuthTokens},
		ExpressionAttributeValues: map[string]types.AttributeValue{":gone": &types.AttributeValueMemberSS{Value: []string{string(kind) + "#" + hash}}},
	})
}

// DeleteOAuthToken deletes one token; its entry in its authorization stays
// until the authorization expires or is revoked (deleting a missing item is no
// error).
func (s *Store) DeleteOAuthToken(ctx context.Context, kind reroute.OAuthTokenKind, hash string) error {
	if !validOAuthKind(kind) || !validHash(hash) {
		return nil
	}
	return s.deleteKeys(ctx, []map[string]types.AttributeValue{oauthTokenKey(kind, hash)})
}

// RevokeOAuthRequest deletes an authorization's tokens of the given kinds. With
// no kind, the authorization goes too, first and atomically with reading its
// tokens, so that no token can be added to it meanwhile.
func (s *Store) RevokeOAuthRequest(ctx context.Context, requestID string, kinds ...reroute.OAuthTokenKind) error {
	if !validRequestID(requestID) {
		return nil
	}
	var attrs map[string]types.AttributeValue
	if len(kinds) == 0 {
		err := retryConflicts(ctx, func() error {
			out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: aws.String(s.table), Key: oauthRequestKey(requestID), ReturnValues: types.ReturnValueAllOld,
			})
			if err == nil {
				attrs = out.Attributes
			}
			return err
		})
		if err != nil {
			return unavailable(err)
		}
	} else {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: oauthRequestKey(requestID), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return unavailable(err)
		}
		attrs = out.Item
	}
	if attrs == nil {
		return nil
	}
	var req oauthRequestItem
	if err := attributevalue.UnmarshalMap(attrs, &req); err != nil {
		return fmt.Errorf("decoding authorization %s: %w", requestID, err)
	}
	var keys []map[string]types.AttributeValue
	var gone []string
	for _, e := range req.Tokens {
		kind, hash, ok := strings.Cut(e, "#")
		if !ok || len(kinds) > 0 && !containsKind(kinds, reroute.OAuthTokenKind(kind)) {
			continue
		}
		keys = append(keys, oauthTokenKey(reroute.OAuthTokenKind(kind), hash))
		gone = append(gone, e)
	}
	if err := s.deleteKeys(ctx, keys); err != nil {
		return err
	}
	if len(kinds) > 0 && len(gone) > 0 {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.table), Key: oauthRequestKey(requestID),
			UpdateExpression:          aws.String("DELETE #tokens :gone"),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ")"),
			ExpressionAttributeNames:  map[string]string{"#tokens": attrOAuthTokens},
			ExpressionAttributeValues: map[string]types.AttributeValue{":gone": &types.AttributeValueMemberSS{Value: gone}},
		})
		if _, failed := conditionFailed(err); err != nil && !failed {
			return unavailable(err)
		}
	}
	return nil
}

func containsKind(kinds []reroute.OAuthTokenKind, k reroute.OAuthTokenKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// deleteOrgOAuth revokes what apps hold in an org being deleted and deletes the
// apps it registered (with what they hold in every org).
func (s *Store) deleteOrgOAuth(ctx context.Context, orgID string) error {
	for {
		p, err := s.ListOAuthGrants(ctx, orgID, "", reroute.PageRequest{Limit: 200})
		if err != nil {
			return err
		}
		for _, g := range p.Items {
			if err := s.RevokeOAuthGrant(ctx, orgID, g.Email, g.ClientID); err != nil && !reroute.IsNotFound(err) {
				return err
			}
		}
		if p.NextCursor == "" {
			break
		}
	}
	for {
		p, err := s.ListOAuthApps(ctx, orgID, reroute.PageRequest{Limit: 200})
		if err != nil {
			return err
		}
		for _, a := range p.Items {
			if err := s.DeleteOAuthApp(ctx, orgID, a.ClientID); err != nil && !reroute.IsNotFound(err) {
				return err
			}
		}
		if p.NextCursor == "" {
			return nil
		}
	}
}
