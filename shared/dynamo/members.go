package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// Member attributes besides the keys.
const (
	attrEmail   = "email"
	attrRole    = "role"
	attrOrgName = "orgName"
)

// memberItem is a membership as stored.
type memberItem struct {
	PK        string `dynamodbav:"PK"`
	SK        string `dynamodbav:"SK"`
	GSI1PK    string `dynamodbav:"GSI1PK"`
	GSI1SK    string `dynamodbav:"GSI1SK"`
	OrgID     string `dynamodbav:"orgId"`
	Email     string `dynamodbav:"email"`
	Role      string `dynamodbav:"role"`
	OrgName   string `dynamodbav:"orgName,omitempty"`
	CreatedAt string `dynamodbav:"createdAt,omitempty"`
}

func newMemberItem(m reroute.Member) memberItem {
	return memberItem{
		PK: memberPK(m.OrgID), SK: memberSK(m.Email),
		GSI1PK: memberGSI1PK(m.Email), GSI1SK: memberGSI1SK(m.OrgID),
		OrgID: m.OrgID, Email: m.Email, Role: string(m.Role), OrgName: m.OrgName,
		CreatedAt: formatTime(m.CreatedAt),
	}
}

func (it memberItem) member() reroute.Member {
	return reroute.Member{
		OrgID: it.OrgID, Email: it.Email, Role: reroute.Role(it.Role), OrgName: it.OrgName,
		CreatedAt: parseTime(it.CreatedAt),
	}
}

func errMemberNotFound() error {
	return &reroute.Error{Code: reroute.CodeNotFound, Reason: "member_not_found", Message: "no such member"}
}

func errMemberExists() error {
	return &reroute.Error{Code: reroute.CodeConflict, Reason: "member_exists", Message: "that user is already a member"}
}

func errLastOwner() error {
	return &reroute.Error{Code: reroute.CodeConflict, Reason: "last_owner", Message: "an org needs an owner: make another member owner first"}
}

// checkMember refuses a member whose keys would be malformed or whose role is not
// one; normalising the email is reroute.NormalizeEmail's job, done before.
func checkMember(m reroute.Member) error {
	if m.OrgID == "" || m.Email == "" || !reroute.ValidRole(m.Role) {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "a member needs an org, an email and a role"}
	}
	return nil
}

// memberPut is the transaction item that stores a new member.
func (s *Store) memberPut(m reroute.Member) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(newMemberItem(m))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encoding member %s of org %s: %w", m.Email, m.OrgID, err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(" + attrPK + ")"),
	}}, nil
}

// GetMember returns email's membership of orgID, read consistently.
func (s *Store) GetMember(ctx context.Context, orgID, email string) (reroute.Member, error) {
	if orgID == "" || email == "" {
		return reroute.Member{}, errMemberNotFound()
	}
	it, found, err := getItem[memberItem](ctx, s, memberKey(orgID, email))
	if err != nil {
		return reroute.Member{}, err
	}
	if !found {
		return reroute.Member{}, errMemberNotFound()
	}
	return it.member(), nil
}

// ListMembers pages through orgID's members in email order, read consistently
// from the org's partition.
func (s *Store) ListMembers(ctx context.Context, orgID string, page reroute.PageRequest) (reroute.Page[reroute.Member], error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :sk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(memberPK(orgID)), ":sk": avS(memberSKOf),
		},
		ConsistentRead: aws.Bool(true),
	}
	return queryPage(ctx, s, in, page, validEmail,
		func(after string) map[string]types.AttributeValue { return memberKey(orgID, after) },
		func(it memberItem) string { return it.Email }, memberItem.member)
}

// validEmail accepts the emails members are stored under.
func validEmail(e string) bool {
	norm, err := reroute.NormalizeEmail(e)
	return err == nil && norm == e
}

// maxMemberships bounds ListMemberships: nobody belongs to more orgs than that.
const maxMemberships = 1000

// ListMemberships returns the orgs email belongs to, in org id order, from the
// user's partition of GSI1 (eventually consistent), at most 1000.
func (s *Store) ListMemberships(ctx context.Context, email string) ([]reroute.Member, error) {
	if email == "" {
		return nil, nil
	}
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(indexGSI1),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": avS(memberGSI1PK(email)),
		},
	}
	var ms []reroute.Member
	for len(ms) < maxMemberships {
		in.Limit = aws.Int32(int32(maxMemberships - len(ms)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable(err)
		}
		var items []memberItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, fmt.Errorf("decoding memberships of %s: %w", email, err)
		}
		for _, it := range items {
			ms = append(ms, it.member())
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return ms, nil
}

// AddMember adds a member and counts it on its org in one transaction, whose
// condition is that the org is live and below its member limit. Zero CreatedAt is
// set to now.
func (s *Store) AddMember(ctx context.Context, m reroute.Member) error {
	if err := checkMember(m); err != nil {
		return err
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	put, err := s.memberPut(m)
	if err != nil {
		return err
	}
	update := "SET #memberCount = #memberCount + :one"
	if m.Role == reroute.RoleOwner {
		update += ", #ownerCount = #ownerCount + :one"
	}
	count := s.orgUpdate(m.OrgID, update, orgLive+" AND #memberCount < #memberLimit",
		map[string]string{
			"#memberCount": attrMemberCount, "#memberLimit": attrMemberLimit,
			"#ownerCount": attrOwnerCount, "#deleting": attrDeleting,
		},
		map[string]types.AttributeValue{":one": avN(1)})
	if m.Role != reroute.RoleOwner {
		delete(count.Update.ExpressionAttributeNames, "#ownerCount") // unused names are an error
	}
	return s.createCounted(ctx, m.OrgID, "member", put, count, errMemberExists,
		countLimit("member", func(it orgItem) (int, int) { return it.MemberCount, it.MemberLimit }))
}

// SetMemberRole changes a member's role. It reads the member, then writes on
// condition that the role is still the one read, so a concurrent change makes it
// read again rather than miscount. Making an owner counts one more owner on the
// org; demoting one counts one less, on condition that another remains
// (CodeConflict "last_owner"). Setting the role a member has already succeeds.
func (s *Store) SetMemberRole(ctx context.Context, orgID, email string, role reroute.Role) error {
	if !reroute.ValidRole(role) {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "role", Message: "role must be owner, admin or member"}}}
	}
	for attempt := 1; attempt <= maxConflictAttempts; attempt++ {
		m, err := s.GetMember(ctx, orgID, email)
		if err != nil {
			return err
		}
		if m.Role == role {
			return nil
		}
		set := types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(s.table),
			Key:                       memberKey(orgID, email),
			UpdateExpression:          aws.String("SET #role = :role"),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #role = :old"),
			ExpressionAttributeNames:  map[string]string{"#role": attrRole},
			ExpressionAttributeValues: map[string]types.AttributeValue{":role": avS(string(role)), ":old": avS(string(m.Role))},
		}}
		demote := m.Role == reroute.RoleOwner
		switch {
		case demote:
			err = s.transact(ctx, set, s.ownerCountUpdate(orgID, "-"))
		case role == reroute.RoleOwner:
			err = s.transact(ctx, set, s.ownerCountUpdate(orgID, "+"))
		default: // between non-owner roles: the org's counters do not change
			u := set.Update
			err = retryConflicts(ctx, func() error {
				_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
					TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
					ConditionExpression: u.ConditionExpression, ExpressionAttributeNames: u.ExpressionAttributeNames,
					ExpressionAttributeValues: u.ExpressionAttributeValues,
				})
				return err
			})
		}
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err)
		case !failed:
			return nil
		case i == 1 && demote:
			return errLastOwner()
		case i == 1:
			return errOrgNotFound()
		}
		// The member changed or went since it was read: read it again.
	}
	return unavailable(errors.New("changing a role: the member kept changing"))
}

// ownerCountUpdate is the org update that counts one owner more ("+") or less
// ("-"); less only while another owner remains.
func (s *Store) ownerCountUpdate(orgID, op string) types.TransactWriteItem {
	cond := orgExists
	values := map[string]types.AttributeValue{":one": avN(1)}
	if op == "-" {
		cond += " AND #ownerCount > :one"
	}
	return s.orgUpdate(orgID, "SET #ownerCount = #ownerCount "+op+" :one", cond,
		map[string]string{"#ownerCount": attrOwnerCount}, values)
}

// RemoveMember removes a member and uncounts it in one transaction; removing an
// owner also uncounts an owner, on condition that another remains (CodeConflict
// "last_owner"). Like SetMemberRole it reads the member first and writes on
// condition that its role did not change meanwhile.
func (s *Store) RemoveMember(ctx context.Context, orgID, email string) error {
	for attempt := 1; attempt <= maxConflictAttempts; attempt++ {
		m, err := s.GetMember(ctx, orgID, email)
		if err != nil {
			return err
		}
		del := types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(s.table),
			Key:                       memberKey(orgID, email),
			ConditionExpression:       aws.String("attribute_exists(" + attrPK + ") AND #role = :old"),
			ExpressionAttributeNames:  map[string]string{"#role": attrRole},
			ExpressionAttributeValues: map[string]types.AttributeValue{":old": avS(string(m.Role))},
		}}
		owner := m.Role == reroute.RoleOwner
		update, cond := "SET #memberCount = #memberCount - :one", orgExists
		names := map[string]string{"#memberCount": attrMemberCount}
		if owner {
			update += ", #ownerCount = #ownerCount - :one"
			cond += " AND #ownerCount > :one"
			names["#ownerCount"] = attrOwnerCount
		}
		// Their email preferences in the org go with them: a member added again
		// starts from the defaults, like anyone new.
		prefs := types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.table), Key: notifyKey(orgID, email)}}
		err = s.transact(ctx, del, s.orgUpdate(orgID, update, cond, names, map[string]types.AttributeValue{":one": avN(1)}), prefs)
		i, failed := conditionFailed(err)
		switch {
		case !failed && err != nil:
			return unavailable(err)
		case !failed:
			return nil
		case i == 1 && owner:
			return errLastOwner()
		case i == 1:
			return errOrgNotFound()
		}
	}
	return unavailable(errors.New("removing a member: the member kept changing"))
}
