package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/sluice-ci/sluice/internal/provider"
)

// awsSecrets reads a build's PARAMETER_STORE and SECRETS_MANAGER values
// from AWS Systems Manager Parameter Store and Secrets Manager, through the
// aws connection the project names. Every value read is masked in the job's
// log before the build can print it.
type awsSecrets struct {
	job        *provider.Job
	connection string
	sm         *secretsmanager.Client
	ssm        *ssm.Client
}

func (a *awsSecrets) open(ctx context.Context) error {
	if a.sm != nil {
		return nil
	}
	if a.job.AWS == nil {
		return errors.New("this worker cannot get aws connections")
	}
	conn, err := a.job.AWS(ctx, a.connection)
	if err != nil {
		return err
	}
	a.sm = secretsmanager.NewFromConfig(conn.Config, func(o *secretsmanager.Options) {
		if ep := conn.EndpointFor("secretsmanager"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	a.ssm = ssm.NewFromConfig(conn.Config, func(o *ssm.Options) {
		if ep := conn.EndpointFor("ssm"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return nil
}

// read returns the value of a reference of the given type: a parameter's
// name (or ARN) for PARAMETER_STORE, secret-id[:json-key[:version-stage[:version-id]]]
// for SECRETS_MANAGER, as CodeBuild reads them.
func (a *awsSecrets) read(ctx context.Context, typ, ref string) (string, error) {
	if err := a.open(ctx); err != nil {
		return "", err
	}
	var value string
	switch typ {
	case ParameterStore:
		out, err := a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ref), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("parameter %s (Parameter Store, connection %s): %w", ref, a.connection, err)
		}
		if out.Parameter != nil {
			value = aws.ToString(out.Parameter.Value)
		}
	case SecretsManager:
		r, err := ParseSecretRef(ref)
		if err != nil {
			return "", err
		}
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.ID)}
		if r.VersionStage != "" {
			in.VersionStage = aws.String(r.VersionStage)
		}
		if r.VersionID != "" {
			in.VersionId = aws.String(r.VersionID)
		}
		out, err := a.sm.GetSecretValue(ctx, in)
		if err != nil {
			return "", fmt.Errorf("secret %s (Secrets Manager, connection %s): %w", r.ID, a.connection, err)
		}
		switch {
		case out.SecretString != nil:
			value = *out.SecretString
		default:
			value = string(out.SecretBinary)
		}
		addMask(a.job.Log, []byte(value)) // the whole secret, before a key is picked out of it
		if r.JSONKey != "" {
			if value, err = jsonKey(value, r.JSONKey); err != nil {
				return "", fmt.Errorf("secret %s (Secrets Manager, connection %s): %w", r.ID, a.connection, err)
			}
		}
	}
	addMask(a.job.Log, []byte(value))
	return value, nil
}

// SecretRef is a Secrets Manager reference of a buildspec or a variable.
type SecretRef struct {
	ID, JSONKey, VersionStage, VersionID string
}

// ParseSecretRef reads secret-id:json-key:version-stage:version-id, where
// the id may be a secret's ARN (which holds colons of its own) and the
// later parts may be empty or left off.
func ParseSecretRef(ref string) (SecretRef, error) {
	parts := strings.Split(ref, ":")
	idParts := 1
	if strings.HasPrefix(ref, "arn:") {
		// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
		idParts = 7
		if len(parts) < idParts {
			return SecretRef{}, fmt.Errorf("%q is not a secret's ARN", ref)
		}
	}
	r := SecretRef{ID: strings.Join(parts[:idParts], ":")}
	rest := parts[idParts:]
	if len(rest) > 3 {
		return SecretRef{}, fmt.Errorf("%q has too many parts (secret-id:json-key:version-stage:version-id)", ref)
	}
	for i, f := range []*string{&r.JSONKey, &r.VersionStage, &r.VersionID} {
		if i < len(rest) {
			*f = rest[i]
		}
	}
	if r.ID == "" {
		return SecretRef{}, fmt.Errorf("%q names no secret", ref)
	}
	if r.VersionStage != "" && r.VersionID != "" {
		return SecretRef{}, fmt.Errorf("%q gives both a version stage and a version id; give one", ref)
	}
	return r, nil
}

// jsonKey picks a key out of a secret holding a JSON object. The error
// never quotes the secret.
func jsonKey(secret, key string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(secret), &m); err != nil {
		return "", fmt.Errorf("json-key %s: the secret is not a JSON object", key)
	}
	raw, ok := m[key]
	if !ok {
		return "", fmt.Errorf("json-key %s: the secret has no such key", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	return string(raw), nil // a number, boolean or object, as its JSON
}
