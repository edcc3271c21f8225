package devstack_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dnsreroute/dnsreroute/shared/devstack"
)

// toolsDir is the project's tools folder, seen from this package's folder.
const toolsDir = "../../tools"

func client(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1,
	})
}

func start(t *testing.T, opts devstack.DynamoDBLocalOptions) *devstack.DynamoDBLocal {
	t.Helper()
	db, err := devstack.StartDynamoDBLocal(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	return db
}

func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("PK"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("PK"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func tableNames(t *testing.T, c *dynamodb.Client) []string {
	t.Helper()
	out, err := c.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	return out.TableNames
}

func TestStartDynamoDBLocal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dataDir   bool
		keepsData bool
	}{
		{name: "in memory", dataDir: false, keepsData: false},
		{name: "on disk", dataDir: true, keepsData: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := devstack.DynamoDBLocalOptions{ToolsDir: toolsDir}
			if tt.dataDir {
				opts.DataDir = t.TempDir() + "/data" // made by Start
			}
			db := start(t, opts)
			if want := "http://127.0.0.1:" + strconv.Itoa(db.Port()); db.Endpoint() != want {
				t.Fatalf("Endpoint() = %q, want %q", db.Endpoint(), want)
			}
			createTable(t, client(db.Endpoint()), "kept")
			if err := db.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if err := db.Stop(); err != nil {
				t.Fatalf("second Stop: %v", err)
			}
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(db.Port()), time.Second); err == nil {
				c.Close()
				t.Fatal("the port still answers after Stop")
			}

			// A new instance on the same folder (and port) sees the table only
			// when the data was on disk.
			opts.Port = db.Port()
			again := start(t, opts)
			got := tableNames(t, client(again.Endpoint()))
			if kept := len(got) == 1 && got[0] == "kept"; kept != tt.keepsData {
				t.Fatalf("tables after restart = %v, want data kept = %v", got, tt.keepsData)
			}
		})
	}
}

func TestStartDynamoDBLocalFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    func(t *testing.T) devstack.DynamoDBLocalOptions
		wantErr string
	}{
		{
			name: "not installed",
			opts: func(t *testing.T) devstack.DynamoDBLocalOptions {
				return devstack.DynamoDBLocalOptions{ToolsDir: t.TempDir()}
			},
			wantErr: "make tools",
		},
		{
			name: "port taken",
			opts: func(t *testing.T) devstack.DynamoDBLocalOptions {
				l, err := net.Listen("tcp", ":0") // DynamoDB Local binds every interface
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { l.Close() })
				return devstack.DynamoDBLocalOptions{ToolsDir: toolsDir, Port: l.Addr().(*net.TCPAddr).Port}
			},
			wantErr: "exited on its own",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			db, err := devstack.StartDynamoDBLocal(ctx, tt.opts(t))
			if err == nil {
				db.Stop()
				t.Fatal("started; want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
