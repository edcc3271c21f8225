package secrets_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/dnsreroute/dnsreroute/shared/secrets"
)

const (
	region   = "us-east-1"
	smPrefix = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	ssmARN   = "arn:aws:ssm:us-east-1:123456789012:parameter/dnsreroute/stripe/webhook-secret"

	stripeKey     = "sk_live_51PQlxxKx8Yq2Lr3sSecretValue"
	webhookSecret = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
)

// secretValues are the secrets the fake Secrets Manager holds, by ARN.
var secretValues = map[string]string{
	smPrefix + "stripe-key-AbCdEf": stripeKey,
	smPrefix + "stripe-Gh1jKl":     `{"secret_key":"` + stripeKey + `","webhook_secret":"` + webhookSecret + `","retries":3}`,
	smPrefix + "empty-MnOpQr":      "",
}

// binarySecret holds SecretBinary only.
const binarySecret = smPrefix + "binary-StUvWx"

// parameters are the parameters the fake SSM holds, by name or ARN.
var parameters = map[string]string{
	"/dnsreroute/stripe/secret-key": stripeKey,
	ssmARN:                          webhookSecret,
	"/dnsreroute/stripe/json":       `{"webhook_secret":"` + webhookSecret + `"}`,
}

// call is one request the fake AWS got.
type call struct {
	Target, ContentType, Auth string
	Body                      map[string]any
}

// fakeAWS speaks the JSON 1.1 protocol of Secrets Manager's GetSecretValue and
// SSM's GetParameter, as the real SDK clients send it.
type fakeAWS struct {
	mu    sync.Mutex
	calls []call
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil || r.Method != http.MethodPost || r.URL.Path != "/" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c := call{Target: r.Header.Get("X-Amz-Target"), ContentType: r.Header.Get("Content-Type"),
		Auth: r.Header.Get("Authorization"), Body: body}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", "5b1e8f2a-7c3d-4e9f-a1b2-c3d4e5f6a7b8")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	switch c.Target {
	case "secretsmanager.GetSecretValue":
		id, _ := body["SecretId"].(string)
		out := map[string]any{"ARN": id, "Name": id, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7672256e9}
		if v, ok := secretValues[id]; ok {
			out["SecretString"] = v
		} else if id == binarySecret {
			out["SecretBinary"] = base64.StdEncoding.EncodeToString([]byte{1, 2, 3})
		} else {
			fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		json.NewEncoder(w).Encode(out)
	case "AmazonSSM.GetParameter":
		name, _ := body["Name"].(string)
		v, ok := parameters[name]
		if !ok {
			fail("ParameterNotFound", "")
			return
		}
		if body["WithDecryption"] != true {
			v = "AQICAHh-encrypted-blob" // what SSM returns for a SecureString not decrypted
		}
		json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"ARN": ssmARN, "Name": name, "Type": "SecureString", "Value": v, "Version": 1, "DataType": "text",
		}})
	default:
		fail("UnknownOperationException", "")
	}
}

func (f *fakeAWS) took() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// clients returns real SDK clients of the fake AWS.
func clients(t *testing.T) (*secretsmanager.Client, *ssm.Client, *fakeAWS) {
	t.Helper()
	fake := &fakeAWS{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	creds := credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", "")
	sm := secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
		Credentials: creds, RetryMaxAttempts: 1})
	ps := ssm.New(ssm.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
		Credentials: creds, RetryMaxAttempts: 1})
	return sm, ps, fake
}

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		value    string
		want     string
		wantCall *call // Target and Body checked
	}{
		{name: "literal", value: stripeKey, want: stripeKey},
		{name: "empty literal", value: "", want: ""},
		{name: "literal with a hash", value: "pa#ss:word", want: "pa#ss:word"},
		{
			name: "secret", value: smPrefix + "stripe-key-AbCdEf", want: stripeKey,
			wantCall: &call{Target: "secretsmanager.GetSecretValue", Body: map[string]any{"SecretId": smPrefix + "stripe-key-AbCdEf"}},
		},
		{
			name: "key of a JSON secret", value: smPrefix + "stripe-Gh1jKl#webhook_secret", want: webhookSecret,
			wantCall: &call{Target: "secretsmanager.GetSecretValue", Body: map[string]any{"SecretId": smPrefix + "stripe-Gh1jKl"}},
		},
		{
			name: "ssm: parameter", value: "ssm:/dnsreroute/stripe/secret-key", want: stripeKey,
			wantCall: &call{Target: "AmazonSSM.GetParameter", Body: map[string]any{"Name": "/dnsreroute/stripe/secret-key", "WithDecryption": true}},
		},
		{
			name: "parameter ARN", value: ssmARN, want: webhookSecret,
			wantCall: &call{Target: "AmazonSSM.GetParameter", Body: map[string]any{"Name": ssmARN, "WithDecryption": true}},
		},
		{
			name: "key of a JSON parameter", value: "ssm:/dnsreroute/stripe/json#webhook_secret", want: webhookSecret,
			wantCall: &call{Target: "AmazonSSM.GetParameter", Body: map[string]any{"Name": "/dnsreroute/stripe/json", "WithDecryption": true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm, ps, fake := clients(t)
			got, err := secrets.Resolve(t.Context(), tt.value, sm, ps)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.value, got, tt.want)
			}
			calls := fake.took()
			if tt.wantCall == nil {
				if len(calls) != 0 {
					t.Errorf("a literal made calls: %+v", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("made %d calls, want 1: %+v", len(calls), calls)
			}
			c := calls[0]
			if c.Target != tt.wantCall.Target || c.ContentType != "application/x-amz-json-1.1" {
				t.Errorf("call = %s (%s), want %s (application/x-amz-json-1.1)", c.Target, c.ContentType, tt.wantCall.Target)
			}
			for k, v := range tt.wantCall.Body {
				if c.Body[k] != v {
					t.Errorf("body %s = %v, want %v (body: %v)", k, c.Body[k], v, c.Body)
				}
			}
			if !strings.HasPrefix(c.Auth, "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/") {
				t.Errorf("Authorization = %q, want SigV4 with the static key", c.Auth)
			}
		})
	}
}

func TestResolveFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		noSM    bool // no Secrets Manager client
		noSSM   bool
		wantErr string
		wantAs  any // a pointer to an error type in the chain
	}{
		{name: "no such secret", value: smPrefix + "missing-AbCdEf", wantErr: "missing-AbCdEf",
			wantAs: new(*smtypes.ResourceNotFoundException)},
		{name: "no such parameter", value: "ssm:/dnsreroute/missing", wantErr: "/dnsreroute/missing",
			wantAs: new(*ssmtypes.ParameterNotFound)},
		{name: "binary secret", value: binarySecret, wantErr: "no SecretString"},
		{name: "empty secret", value: smPrefix + "empty-MnOpQr", wantErr: "is empty"},
		{name: "no such key", value: smPrefix + "stripe-Gh1jKl#nope", wantErr: `no key "nope"`},
		{name: "a key that is not a string", value: smPrefix + "stripe-Gh1jKl#retries", wantErr: "not a string"},
		{name: "a key of a secret that is not JSON", value: smPrefix + "stripe-key-AbCdEf#secret_key", wantErr: "not a JSON object"},
		{name: "no Secrets Manager client", value: smPrefix + "stripe-key-AbCdEf", noSM: true, wantErr: "Secrets Manager client"},
		{name: "no SSM client", value: ssmARN, noSSM: true, wantErr: "SSM client"},
		{name: "relative ssm: name", value: "ssm:dnsreroute/x", wantErr: "not ssm:/"},
		{name: "ARN of something else", value: "arn:aws:kms:us-east-1:123456789012:key/1234abcd", wantErr: "neither"},
		{name: "ARN of no secret", value: "arn:aws:secretsmanager:us-east-1:123456789012:secret:", wantErr: "neither"},
		{name: "truncated ARN", value: "arn:aws:secretsmanager:us-east-1", wantErr: "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sm, ps, _ := clients(t)
			var smAPI secrets.SecretsManagerAPI = sm
			var ssmAPI secrets.SSMAPI = ps
			if tt.noSM {
				smAPI = nil
			}
			if tt.noSSM {
				ssmAPI = nil
			}
			got, err := secrets.Resolve(t.Context(), tt.value, smAPI, ssmAPI)
			if err == nil {
				t.Fatalf("Resolve(%q) = %q, want an error", tt.value, got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{stripeKey, webhookSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error = %v: it shows a secret", err)
				}
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("error = %v (%T), want %T in its chain", err, err, tt.wantAs)
			}
		})
	}
}

func TestSourceOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value string
		want  secrets.Source
	}{
		{"", secrets.Literal},
		{stripeKey, secrets.Literal},
		{smPrefix + "stripe-Gh1jKl#secret_key", secrets.SecretsManager},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf", secrets.SecretsManager},
		{"ssm:/dnsreroute/stripe/secret-key", secrets.SSM},
		{ssmARN, secrets.SSM},
		{"arn:aws:kms:us-east-1:123456789012:key/1234abcd", secrets.Literal}, // Resolve refuses it
	}
	for _, tt := range tests {
		if got := secrets.SourceOf(tt.value); got != tt.want {
			t.Errorf("SourceOf(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}
