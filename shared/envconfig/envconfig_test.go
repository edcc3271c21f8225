package envconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/envconfig"
)

func TestReader(t *testing.T) {
	env := map[string]string{"S": " v ", "N": "7", "BADN": "x", "LOWN": "-1", "D": "90s", "DS": "30", "BADD": "-5s", "B": "true", "L": " a, ,b ", "BADB": "maybe"}
	r := envconfig.New(func(k string) string { return env[k] })
	if got := r.String("S", "d"); got != "v" {
		t.Errorf("String = %q", got)
	}
	if got := r.String("MISSING", "d"); got != "d" {
		t.Errorf("String default = %q", got)
	}
	if got := r.Int("N", 1, 0); got != 7 {
		t.Errorf("Int = %d", got)
	}
	if got := r.Duration("D", 0); got != 90*time.Second {
		t.Errorf("Duration = %v", got)
	}
	if got := r.Duration("DS", 0); got != 30*time.Second {
		t.Errorf("Duration of a bare number = %v", got)
	}
	if got := r.List("L"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("List = %q", got)
	}
	if got := r.List("MISSING"); got != nil {
		t.Errorf("List of an unset variable = %q", got)
	}
	if got := r.Bool("B", false); !got {
		t.Errorf("Bool = %v", got)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("no error expected yet, got %v", err)
	}
	r.Required("MISSING")
	r.Int("BADN", 1, 0)
	r.Int("LOWN", 1, 0)
	r.Duration("BADD", time.Second)
	r.Bool("BADB", false)
	err := r.Err()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, name := range []string{"MISSING is required", "BADN", "LOWN", "BADD", "BADB"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not mention %s", err, name)
		}
	}
}

func TestReaderARN(t *testing.T) {
	const kvs = "arn:aws:cloudfront::123456789012:key-value-store/8aa7c3e1-5d8a-4c1e-9f4b-0c2b9d1e7f10"
	for _, tt := range []struct {
		value, want string
		bad         bool
	}{
		{"", "", false},
		{" " + kvs + " ", kvs, false},
		{"arn:aws-cn:cloudfront::123456789012:key-value-store/abc", "arn:aws-cn:cloudfront::123456789012:key-value-store/abc", false},
		{"my-store", "", true},
		{"arn:aws:s3:::bucket", "", true},
		{"arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE", "", true},
		{"arn:aws:cloudfront::123456789012:key-value-store/", "", true},
	} {
		r := envconfig.New(func(string) string { return tt.value })
		got := r.ARN("EDGE_KVS_ARN", "cloudfront", "key-value-store/")
		if got != tt.want || (r.Err() != nil) != tt.bad {
			t.Errorf("ARN(%q) = %q, %v", tt.value, got, r.Err())
		}
		if tt.bad && !strings.Contains(r.Err().Error(), "EDGE_KVS_ARN") {
			t.Errorf("the error does not name the variable: %v", r.Err())
		}
	}
}
