package dynamo_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute"
	"github.com/dnsreroute/dnsreroute/shared/dynamo"
	"github.com/dnsreroute/dnsreroute/shared/dynamo/dynamotest"
)

// TestTableDefinitionMatchesKeys checks that the names the key constructors write
// are the ones the deployed table declares.
func TestTableDefinitionMatchesKeys(t *testing.T) {
	t.Parallel()
	in, ttl, err := dynamo.TableDefinition(dnsreroute.Template(), "routes")
	if err != nil {
		t.Fatal(err)
	}
	k := dynamo.KeyAttributes
	if got := aws.ToString(in.TableName); got != "routes" {
		t.Errorf("TableName = %q", got)
	}
	if in.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("BillingMode = %q", in.BillingMode)
	}
	if got, want := keyNames(in.KeySchema), []string{k.PK + " HASH", k.SK + " RANGE"}; !slices.Equal(got, want) {
		t.Errorf("KeySchema = %v, want %v", got, want)
	}
	var gsi *types.GlobalSecondaryIndex
	for i := range in.GlobalSecondaryIndexes {
		if aws.ToString(in.GlobalSecondaryIndexes[i].IndexName) == k.GSI1 {
			gsi = &in.GlobalSecondaryIndexes[i]
		}
	}
	if gsi == nil {
		t.Fatalf("no index %s in %+v", k.GSI1, in.GlobalSecondaryIndexes)
	}
	if got, want := keyNames(gsi.KeySchema), []string{k.GSI1PK + " HASH", k.GSI1SK + " RANGE"}; !slices.Equal(got, want) {
		t.Errorf("%s KeySchema = %v, want %v", k.GSI1, got, want)
	}
	if gsi.Projection == nil || gsi.Projection.ProjectionType != types.ProjectionTypeAll {
		t.Errorf("%s projection = %+v, want ALL (ListRoutes reads whole routes from it)", k.GSI1, gsi.Projection)
	}
	var attrs []string
	for _, a := range in.AttributeDefinitions {
		if a.AttributeType != types.ScalarAttributeTypeS {
			t.Errorf("attribute %s is %s, want S", aws.ToString(a.AttributeName), a.AttributeType)
		}
		attrs = append(attrs, aws.ToString(a.AttributeName))
	}
	slices.Sort(attrs)
	if want := []string{k.GSI1PK, k.GSI1SK, k.GSI2PK, k.GSI2SK, k.PK, k.SK}; !slices.Equal(attrs, want) {
		t.Errorf("AttributeDefinitions = %v, want %v", attrs, want)
	}
	if ttl == nil || aws.ToString(ttl.AttributeName) != k.TTL || !aws.ToBool(ttl.Enabled) {
		t.Errorf("TTL = %+v, want %s enabled", ttl, k.TTL)
	}
}

func keyNames(ks []types.KeySchemaElement) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = aws.ToString(k.AttributeName) + " " + string(k.KeyType)
	}
	return out
}

func TestTableDefinitionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		wantErr  string
	}{
		{name: "not yaml", template: "Resources: [", wantErr: "template"},
		{name: "empty", template: "", wantErr: "empty"},
		{name: "no table", template: "Resources:\n  Other:\n    Type: AWS::SQS::Queue\n", wantErr: "Resources.Table.Properties"},
		{
			name:     "provisioned",
			template: "Resources:\n  Table:\n    Properties:\n      BillingMode: PROVISIONED\n",
			wantErr:  "PAY_PER_REQUEST",
		},
		{
			name:     "no keys",
			template: "Resources:\n  Table:\n    Properties:\n      BillingMode: PAY_PER_REQUEST\n",
			wantErr:  "KeySchema",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := dynamo.TableDefinition([]byte(tt.template), "x")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEnsureTable checks that the table made from the template has its keys and TTL,
// and that ensuring it again changes nothing.
func TestEnsureTable(t *testing.T) {
	t.Parallel()
	client, table := dynamotest.NewTable(t)
	if err := dynamo.EnsureTable(t.Context(), client, dnsreroute.Template(), table); err != nil {
		t.Fatalf("second EnsureTable: %v", err)
	}
	desc, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	k := dynamo.KeyAttributes
	if got, want := keyNames(desc.Table.KeySchema), []string{k.PK + " HASH", k.SK + " RANGE"}; !slices.Equal(got, want) {
		t.Errorf("KeySchema = %v, want %v", got, want)
	}
	if desc.Table.TableStatus != types.TableStatusActive {
		t.Errorf("status = %s", desc.Table.TableStatus)
	}
	if n := len(desc.Table.GlobalSecondaryIndexes); n != 2 {
		t.Errorf("%d indexes, want 2", n)
	}
	// The stream the edge sync reads, as template.yaml defines it.
	if st := desc.Table.StreamSpecification; st == nil || !aws.ToBool(st.StreamEnabled) || st.StreamViewType != types.StreamViewTypeNewAndOldImages {
		t.Errorf("StreamSpecification = %+v, want NEW_AND_OLD_IMAGES", st)
	}
	ttl, err := client.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || aws.ToString(d.AttributeName) != k.TTL || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled {
		t.Errorf("TTL = %+v, want %s enabled", d, k.TTL)
	}
}
