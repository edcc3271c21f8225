package kvsfake_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	"github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore/types"

	"github.com/dnsreroute/dnsreroute/shared/edgesync/kvsfake"
)

const arn = "arn:aws:cloudfront::123456789012:key-value-store/2d3f6c1e-1111-4222-8333-444455556666"

func client(f *kvsfake.Fake) *kvs.Client {
	return kvs.New(kvs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: aws.String(f.URL()),
		HTTPClient:   f.HTTPClient(),
	})
}

func puts(kv ...string) []types.PutKeyRequestListItem {
	var out []types.PutKeyRequestListItem
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.PutKeyRequestListItem{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

func TestFakeThroughTheSDK(t *testing.T) {
	f := kvsfake.New(arn)
	defer f.Close()
	c := client(f)
	ctx := context.Background()
	d, err := c.DescribeKeyValueStore(ctx, &kvs.DescribeKeyValueStoreInput{KvsARN: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(d.ETag)
	up, err := c.UpdateKeys(ctx, &kvs.UpdateKeysInput{KvsARN: aws.String(arn), IfMatch: aws.String(etag), Puts: puts("a.example", "0", "b.example", "[1]")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(up.ItemCount) != 2 || aws.ToInt64(up.TotalSizeInBytes) != int64(len("a.example0b.example[1]")) || aws.ToString(up.ETag) == etag {
		t.Errorf("UpdateKeys answered %+v", up)
	}
	// The old ETag is stale now: "Resource is not in expected state" (409).
	_, err = c.UpdateKeys(ctx, &kvs.UpdateKeysInput{KvsARN: aws.String(arn), IfMatch: aws.String(etag), Puts: puts("c.example", "0")})
	var conflict *types.ConflictException
	if !errors.As(err, &conflict) {
		t.Errorf("a stale If-Match: %v, want ConflictException", err)
	}
	g, err := c.GetKey(ctx, &kvs.GetKeyInput{KvsARN: aws.String(arn), Key: aws.String("b.example")})
	if err != nil || aws.ToString(g.Value) != "[1]" {
		t.Errorf("GetKey: %v %v", g, err)
	}
	_, err = c.GetKey(ctx, &kvs.GetKeyInput{KvsARN: aws.String(arn), Key: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("GetKey of a missing key: %v", err)
	}
	var got []string
	p := kvs.NewListKeysPaginator(c, &kvs.ListKeysInput{KvsARN: aws.String(arn), MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			got = append(got, aws.ToString(it.Key))
		}
	}
	if strings.Join(got, ",") != "a.example,b.example" {
		t.Errorf("ListKeys: %v", got)
	}
}

// The fake refuses what AWS documents refusing
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html,
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html).
func TestFakeRefuses(t *testing.T) {
	f := kvsfake.New(arn)
	defer f.Close()
	c := client(f)
	ctx := context.Background()
	f.Set("gone.example", "0")
	f.Set("gone.example", "")
	big := strings.Repeat("v", kvsfake.MaxValueBytes)
	var many []string
	for i := range kvsfake.MaxUpdateKeys + 1 {
		many = append(many, strings.Repeat("k", i+1), "0")
	}
	for _, tc := range []struct {
		name string
		in   kvs.UpdateKeysInput
		want any
	}{
		{"key over 512 bytes", kvs.UpdateKeysInput{Puts: puts(strings.Repeat("k", 513), "0")}, new(*types.ValidationException)},
		{"value over 1 KB", kvs.UpdateKeysInput{Puts: puts("k", big+"v")}, new(*types.ValidationException)},
		{"over 50 keys", kvs.UpdateKeysInput{Puts: puts(many...)}, new(*types.ValidationException)},
		{"a key twice", kvs.UpdateKeysInput{Puts: puts("k", "0", "k", "1")}, new(*types.ValidationException)},
		{"delete a missing key", kvs.UpdateKeysInput{Deletes: []types.DeleteKeyRequestListItem{{Key: aws.String("gone.example")}}}, new(*types.ResourceNotFoundException)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := c.DescribeKeyValueStore(ctx, &kvs.DescribeKeyValueStoreInput{KvsARN: aws.String(arn)})
			if err != nil {
				t.Fatal(err)
			}
			in := tc.in
			in.KvsARN, in.IfMatch = aws.String(arn), d.ETag
			_, err = c.UpdateKeys(ctx, &in)
			if err == nil || !errors.As(err, tc.want) {
				t.Errorf("got %v, want %T", err, tc.want)
			}
			if len(f.Items()) != 0 {
				t.Errorf("a refused update changed the store: %v", f.Items())
			}
		})
	}
	// A store past 5 MB: ServiceQuotaExceededException (402).
	for i := 0; f.Size()+2*(kvsfake.MaxValueBytes+8) < kvsfake.MaxStoreBytes; i++ {
		f.Set(strings.Repeat("x", 8-len(itoa(i)))+itoa(i), big)
	}
	d, err := c.DescribeKeyValueStore(ctx, &kvs.DescribeKeyValueStoreInput{KvsARN: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateKeys(ctx, &kvs.UpdateKeysInput{KvsARN: aws.String(arn), IfMatch: d.ETag,
		Puts: puts("y1", big, "y2", big, "y3", big)})
	var q *types.ServiceQuotaExceededException
	if !errors.As(err, &q) {
		t.Errorf("past 5 MB: %v, want ServiceQuotaExceededException", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
