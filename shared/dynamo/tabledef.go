package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// tableResource is the logical id of the table in template.yaml.
const tableResource = "Table"

// cfnTable is the part of an AWS::DynamoDB::Table's properties that CreateTable and
// UpdateTimeToLive take (the stream included). Point-in-time recovery and encryption are left out: they do
// not change what the code can do, and DynamoDB Local ignores them.
type cfnTable struct {
	BillingMode          string `yaml:"BillingMode"`
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []cfnKey `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string   `yaml:"IndexName"`
		KeySchema  []cfnKey `yaml:"KeySchema"`
		Projection struct {
			ProjectionType   string   `yaml:"ProjectionType"`
			NonKeyAttributes []string `yaml:"NonKeyAttributes"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	StreamSpecification *struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
	TimeToLiveSpecification *struct {
		AttributeName string `yaml:"AttributeName"`
		Enabled       bool   `yaml:"Enabled"`
	} `yaml:"TimeToLiveSpecification"`
}

type cfnKey struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// TableDefinition reads the Table resource of the SAM template and returns the
// CreateTable call that makes the same table under tableName, and its TTL setting
// (nil when the template enables none). Local runs and tests build their tables
// from it so that they cannot drift from what is deployed.
func TableDefinition(templateYAML []byte, tableName string) (*dynamodb.CreateTableInput, *types.TimeToLiveSpecification, error) {
	props, err := tableProperties(templateYAML)
	if err != nil {
		return nil, nil, err
	}
	var t cfnTable
	if err := props.Decode(&t); err != nil {
		return nil, nil, fmt.Errorf("template: resource %s: %w", tableResource, err)
	}
	if t.BillingMode != string(types.BillingModePayPerRequest) {
		// Provisioned capacity would need throughput figures this code does not map.
		return nil, nil, fmt.Errorf("template: resource %s: BillingMode %q is not supported, only PAY_PER_REQUEST", tableResource, t.BillingMode)
	}
	if len(t.KeySchema) == 0 {
		return nil, nil, fmt.Errorf("template: resource %s has no KeySchema", tableResource)
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(tableName),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.KeySchema),
	}
	for _, a := range t.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range t.GlobalSecondaryIndexes {
		p := &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)}
		if len(g.Projection.NonKeyAttributes) > 0 {
			p.NonKeyAttributes = g.Projection.NonKeyAttributes
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: p,
		})
	}
	// The stream feeds the edge sync; DynamoDB Local keeps one too, so that tests
	// read it as Lambda's event source mapping does.
	if st := t.StreamSpecification; st != nil {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(st.StreamViewType),
		}
	}
	var ttl *types.TimeToLiveSpecification
	if s := t.TimeToLiveSpecification; s != nil && s.Enabled {
		ttl = &types.TimeToLiveSpecification{AttributeName: aws.String(s.AttributeName), Enabled: aws.Bool(true)}
	}
	return in, ttl, nil
}

// tableProperties finds Resources.Table.Properties. The template is walked as a
// yaml.Node because CloudFormation tags (!Ref, !GetAtt) elsewhere in it do not
// decode into plain Go values.
func tableProperties(templateYAML []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(templateYAML, &doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("template: empty document")
	}
	node := doc.Content[0]
	for _, key := range []string{"Resources", tableResource, "Properties"} {
		if node = mapValue(node, key); node == nil {
			return nil, fmt.Errorf("template: no Resources.%s.Properties", tableResource)
		}
	}
	return node, nil
}

// mapValue returns the value under key in a YAML mapping, nil if there is none.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keySchema(ks []cfnKey) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, len(ks))
	for i, k := range ks {
		out[i] = types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)}
	}
	return out
}

// EnsureTable makes the table the template defines under name, unless one exists,
// waits until it is ACTIVE and enables TTL as the template says. It leaves an
// existing table's keys alone: it does not migrate.
func EnsureTable(ctx context.Context, client *dynamodb.Client, templateYAML []byte, name string) error {
	create, ttl, err := TableDefinition(templateYAML, name)
	if err != nil {
		return err
	}
	_, err = client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var notFound *types.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		_, err = client.CreateTable(ctx, create)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: another process made it first
			return fmt.Errorf("creating table %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("describing table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 500*time.Millisecond, 5*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", name, err)
	}
	if ttl == nil {
		return nil
	}
	cur, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describing TTL of table %s: %w", name, err)
	}
	if d := cur.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == aws.ToString(ttl.AttributeName) &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil // enabling it again is an error
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name), TimeToLiveSpecification: ttl,
	}); err != nil {
		return fmt.Errorf("enabling TTL on table %s: %w", name, err)
	}
	return nil
}
