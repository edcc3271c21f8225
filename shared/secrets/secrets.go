// Package secrets resolves configuration values that may name a secret kept in
// AWS: a function's main reads each such value once, at cold start.
//
// A value is one of:
//
//   - a Secrets Manager ARN, "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX":
//     the secret's SecretString (its current version);
//   - an SSM parameter, "ssm:/path/name" or
//     "arn:aws:ssm:REGION:ACCOUNT:parameter/path/name": the parameter's value,
//     decrypted (SecureString);
//   - anything else but another "arn:" or "ssm:" (an error): the value itself
//     (local runs put keys in the environment).
//
// Either reference may end with "#key" to pick one string field of a secret that
// is a JSON object, such as "arn:...:secret:stripe-AbCdEf#webhook_secret". '#' can
// appear in neither a secret's nor a parameter's name, so this cannot be misread.
//
// Each reference form is one the stack's template grants access to (the
// StripeSecretKeyArn and StripeWebhookSecretArn parameters admit exactly these,
// in the function's region); a literal is for local runs only.
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SecretsManagerAPI is the part of *secretsmanager.Client that Resolve uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of *ssm.Client that Resolve uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Source says where a value comes from.
type Source int

const (
	Literal        Source = iota // the value itself
	SecretsManager               // a Secrets Manager secret
	SSM                          // an SSM parameter
)

// SourceOf returns where value comes from, so that a main builds only the clients
// it needs (and none when every value is literal). A malformed reference is
// Literal here; Resolve reports it.
func SourceOf(value string) Source {
	src, _, _, _ := parse(value)
	return src
}

// Resolve returns the value that value stands for. sm and ps may be nil when no
// value of their kind is resolved. A secret or parameter that resolves to "" is an
// error; a literal "" is "" (not configured). Errors name the reference, never a
// secret.
func Resolve(ctx context.Context, value string, sm SecretsManagerAPI, ps SSMAPI) (string, error) {
	src, id, key, err := parse(value)
	if err != nil {
		return "", err
	}
	var raw string
	switch src {
	case Literal:
		return value, nil
	case SecretsManager:
		if sm == nil {
			return "", fmt.Errorf("secrets: %s needs a Secrets Manager client", id)
		}
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("secrets: reading %s: %w", id, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("secrets: %s holds no SecretString (binary secrets are not supported)", id)
		}
		raw = *out.SecretString
	case SSM:
		if ps == nil {
			return "", fmt.Errorf("secrets: %s needs an SSM client", id)
		}
		out, err := ps.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(id), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("secrets: reading %s: %w", id, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", fmt.Errorf("secrets: %s has no value", id)
		}
		raw = *out.Parameter.Value
	}
	if key != "" {
		if raw, err = field(raw, id, key); err != nil {
			return "", err
		}
	}
	if raw == "" {
		return "", fmt.Errorf("secrets: %s is empty", value)
	}
	return raw, nil
}

// parse splits a reference into its source, the id to ask for and the JSON key.
func parse(value string) (src Source, id, key string, err error) {
	ref, key, _ := strings.Cut(value, "#")
	switch {
	case strings.HasPrefix(ref, "ssm:"):
		if !strings.HasPrefix(ref, "ssm:/") || len(ref) == len("ssm:/") {
			return Literal, "", "", fmt.Errorf("secrets: %q is not ssm:/path/of/parameter", value)
		}
		return SSM, strings.TrimPrefix(ref, "ssm:"), key, nil
	case strings.HasPrefix(ref, "arn:"):
		// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
		parts := strings.SplitN(ref, ":", 6)
		if len(parts) == 6 {
			switch {
			case parts[2] == "secretsmanager" && strings.HasPrefix(parts[5], "secret:") && len(parts[5]) > len("secret:"):
				return SecretsManager, ref, key, nil
			case parts[2] == "ssm" && strings.HasPrefix(parts[5], "parameter/") && len(parts[5]) > len("parameter/"):
				return SSM, ref, key, nil // GetParameter takes the ARN as the name
			}
		}
		return Literal, "", "", fmt.Errorf("secrets: %q is neither a Secrets Manager secret's ARN nor an SSM parameter's", value)
	}
	return Literal, value, "", nil
}

// field returns the string at key of the JSON object raw.
func field(raw, id, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		// The JSON error may quote the secret: it is not kept.
		return "", fmt.Errorf("secrets: %s is not a JSON object, so it has no key %q", id, key)
	}
	v, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("secrets: %s has no key %q", id, key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("secrets: the key %q of %s is not a string", key, id)
	}
	return s, nil
}
