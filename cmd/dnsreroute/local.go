package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

// defaultStateFile is where `dnsreroute dev` says, while it runs, where its parts
// listen (git-ignored), so that the local commands run beside it find it whatever
// its ports.
const defaultStateFile = ".dnsreroute-dev.json"

// devState is the content of the state file.
type devState struct {
	PID              int    `json:"pid"`
	DynamoDBEndpoint string `json:"dynamodbEndpoint"`
	Table            string `json:"table"`
	API              string `json:"api"`        // the API's, the dashboard's and the dev sign-in's origin
	Redirector       string `json:"redirector"` // http://host:port
}

// writeDevState writes st to path (whole or not at all) and returns what removes
// it again, unless another stack has written its own there meanwhile.
func writeDevState(path string, st devState) (remove func(), err error) {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dnsreroute-dev-*.json")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	return func() {
		if cur, err := readDevState(path); err == nil && cur.PID == st.PID {
			_ = os.Remove(path)
		}
	}, nil
}

func readDevState(path string) (devState, error) {
	var st devState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if st.DynamoDBEndpoint == "" || st.Table == "" {
		return st, fmt.Errorf("%s names no DynamoDB endpoint and table", path)
	}
	return st, nil
}

// localFlags are the flags saying which local table a command acts on. Unset,
// they come from DYNAMODB_ENDPOINT and TABLE_NAME, else from the state file of
// the `dnsreroute dev` running in this folder.
type localFlags struct {
	endpoint, table, state *string
}

func addLocalFlags(fs *flag.FlagSet, getenv func(string) string) localFlags {
	return localFlags{
		endpoint: fs.String("endpoint", getenv("DYNAMODB_ENDPOINT"), "DynamoDB endpoint (default: $DYNAMODB_ENDPOINT, else that of the `make dev` running here)"),
		table:    fs.String("table", getenv("TABLE_NAME"), "table name (default: $TABLE_NAME, else that of the `make dev` running here)"),
		state:    fs.String("state", defaultStateFile, "the file in which `dnsreroute dev` says where it runs"),
	}
}

// localStack is the table a command acts on, and where it was learnt.
type localStack struct {
	endpoint, table string
	api             string // the dashboard's origin, when the state file says
	from            string // "-endpoint" or the state file's name
}

// resolve finds the table: the flags (or environment) first, then the state file.
func (f localFlags) resolve() (localStack, error) {
	s := localStack{endpoint: *f.endpoint, table: *f.table, from: "-endpoint"}
	if s.endpoint == "" {
		st, err := readDevState(*f.state)
		if errors.Is(err, fs.ErrNotExist) {
			return s, fmt.Errorf("no local stack found: `make dev` writes %s while it runs, in the folder it runs in; "+
				"start it (or run this command in its folder, or name the file with -state), or name the DynamoDB to use with -endpoint http://HOST:PORT and -table NAME", *f.state)
		}
		if err != nil {
			return s, fmt.Errorf("%w (or name the DynamoDB to use with -endpoint http://HOST:PORT and -table NAME)", err)
		}
		s.endpoint, s.api, s.from = st.DynamoDBEndpoint, st.API, *f.state
		if s.table == "" {
			s.table = st.Table
		}
	}
	if s.table == "" {
		s.table = defaultTable
	}
	return s, nil
}

func (s localStack) client() *dynamodb.Client { return devstack.NewDynamoDBClient(s.endpoint) }

// probeTimeout bounds the first call to the local DynamoDB.
const probeTimeout = 20 * time.Second

// check makes sure the table is there, so that a stack that is gone or a wrong
// endpoint is said as such rather than as a failed write.
func (s localStack) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := s.client().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		return fmt.Errorf("DynamoDB at %s (from %s) has no table %s: `dnsreroute table ensure` creates it, -table names another", s.endpoint, s.from, s.table)
	case err != nil && s.from == "-endpoint":
		return fmt.Errorf("DynamoDB at %s does not answer (%v): is it running? -endpoint names another", s.endpoint, err)
	case err != nil:
		return fmt.Errorf("DynamoDB at %s, which %s names, does not answer (%v): is `make dev` still running? Start it, or name another DynamoDB with -endpoint", s.endpoint, s.from, err)
	}
	return nil
}

// maxListedOrgs bounds the orgs listed when the command cannot tell which to use.
const maxListedOrgs = 20

// chooseOrg finds the org a routes command acts on: the one named by -org; else
// the only org of -user; else the only org in the table (a developer's local
// table usually holds one, made in the dashboard). When there is none, or more
// than one, it says which there are and how to choose.
func chooseOrg(ctx context.Context, stack localStack, store *dynamo.Store, orgID, user string) (reroute.Org, error) {
	if orgID != "" {
		org, err := store.GetOrg(ctx, orgID)
		if reroute.IsNotFound(err) {
			return org, fmt.Errorf("no org %s in table %s%s", orgID, stack.table, orgHint(ctx, stack, store, user))
		}
		return org, err
	}
	var orgs []reroute.Org
	more := false
	if user != "" {
		email, err := reroute.NormalizeEmail(user)
		if err != nil {
			return reroute.Org{}, err
		}
		ms, err := store.ListMemberships(ctx, email)
		if err != nil {
			return reroute.Org{}, err
		}
		for _, m := range ms {
			org, err := store.GetOrg(ctx, m.OrgID)
			if reroute.IsNotFound(err) {
				continue // deleted meanwhile
			}
			if err != nil {
				return reroute.Org{}, err
			}
			orgs = append(orgs, org)
		}
	} else {
		var err error
		if orgs, more, err = dynamo.ScanOrgs(ctx, stack.client(), stack.table, maxListedOrgs); err != nil {
			return reroute.Org{}, err
		}
	}
	switch {
	case len(orgs) == 1:
		return orgs[0], nil
	case len(orgs) == 0 && user != "":
		return reroute.Org{}, fmt.Errorf("%s belongs to no org in table %s%s", user, stack.table, createHint(stack))
	case len(orgs) == 0:
		return reroute.Org{}, fmt.Errorf("table %s has no org yet%s", stack.table, createHint(stack))
	}
	return reroute.Org{}, fmt.Errorf("choose the org with -org ID:\n%s", orgList(orgs, more))
}

// orgHint lists the orgs to choose from, for an -org that names none.
func orgHint(ctx context.Context, stack localStack, store *dynamo.Store, user string) string {
	if user != "" {
		return ""
	}
	orgs, more, err := dynamo.ScanOrgs(ctx, stack.client(), stack.table, maxListedOrgs)
	if err != nil || len(orgs) == 0 {
		return createHint(stack)
	}
	return "; there are:\n" + orgList(orgs, more)
}

func createHint(stack localStack) string {
	where := "the dashboard"
	if stack.api != "" {
		where += " at " + stack.api + "/"
	}
	return ": sign in to " + where + " and create one (or POST /v1/orgs), then run this again"
}

func orgList(orgs []reroute.Org, more bool) string {
	var b strings.Builder
	for _, o := range orgs {
		fmt.Fprintf(&b, "  %s  %q  %s plan, %d of %d routes\n", o.ID, o.Name, o.Plan, o.RouteCount, o.RouteLimit)
	}
	if more {
		b.WriteString("  … and more\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
