package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/dnsreroute/dnsreroute/shared/logging"
)

func TestRequestIDIsLogged(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"none", context.Background(), ""},
		{"set", logging.WithRequestID(context.Background(), "req-1"), "req-1"},
		{"lambda", lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "aws-2"}), "aws-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := logging.New(&buf, slog.LevelInfo).With("fn", "x")
			log.InfoContext(tt.ctx, "hello")
			log.DebugContext(tt.ctx, "below the level")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("want one JSON record, got %q: %v", buf.String(), err)
			}
			got, _ := rec["requestId"].(string)
			if got != tt.want || rec["fn"] != "x" || rec["msg"] != "hello" {
				t.Errorf("record %v: requestId %q, want %q", rec, got, tt.want)
			}
		})
	}
	if logging.ParseLevel("debug") != slog.LevelDebug || logging.ParseLevel("nonsense") != slog.LevelInfo {
		t.Error("ParseLevel")
	}
}
