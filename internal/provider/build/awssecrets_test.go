package build

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/logmask"
)

func TestParseSecretRef(t *testing.T) {
	for ref, want := range map[string]SecretRef{
		"db":              {ID: "db"},
		"db:password":     {ID: "db", JSONKey: "password"},
		"db::AWSPREVIOUS": {ID: "db", VersionStage: "AWSPREVIOUS"},
		"db:::v-1":        {ID: "db", VersionID: "v-1"},
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password": {
			ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", JSONKey: "password"},
	} {
		got, err := ParseSecretRef(ref)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", ref, got, err, want)
		}
	}
	for _, ref := range []string{":key", "db:k:s:i:x", "db:k:AWSCURRENT:v-1", "arn:aws:secretsmanager"} {
		if _, err := ParseSecretRef(ref); err == nil {
			t.Errorf("%s accepted", ref)
		}
	}
}

// TestSecretsFromAWS: with a project connection, PARAMETER_STORE and
// SECRETS_MANAGER variables and the buildspec's env entries are read from
// SSM Parameter Store and Secrets Manager (json-key, version-stage and
// version-id included), masked in the log, and a buildspec can read only
// what the project declares.
func TestSecretsFromAWS(t *testing.T) {
	moto := mototest.Start(t)
	ctx := context.Background()
	conn := moto.Conn("aws")
	sm := secretsmanager.NewFromConfig(conn.Config, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	ps := ssm.NewFromConfig(conn.Config, func(o *ssm.Options) { o.BaseEndpoint = aws.String(moto.URL) })
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db"), SecretString: aws.String(`{"password":"pw-from-sm","port":5432}`)}); err != nil {
		t.Fatal(err)
	}
	first, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("tok"), SecretString: aws.String("token-v1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("tok"), SecretString: aws.String("token-v2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/key"), Value: aws.String("param-secret"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, spec string, vars []Variable) (string, error) {
		f := newJob(t, Project{Name: "p", Isolation: "none", Connection: "aws", Buildspec: spec, EnvironmentVariables: vars}, nil)
		f.job.Secret = nil // nothing comes from sluice's own secrets
		f.job.AWS = func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != "aws" {
				t.Errorf("asked for connection %q", name)
			}
			return conn, nil
		}
		masked := logmask.New(f.log)
		f.job.Log = masked
		_, err := Provider{}.Run(ctx, f.job)
		masked.Flush()
		return f.log.String(), err
	}
	vars := []Variable{
		{Name: "DB_PW", Value: "db:password", Type: SecretsManager},
		{Name: "TOKEN", Value: "tok", Type: SecretsManager},
		{Name: "OLD", Value: "tok::AWSPREVIOUS", Type: SecretsManager},
		{Name: "FIRST", Value: "tok:::" + aws.ToString(first.VersionId), Type: SecretsManager},
		{Name: "KEY", Value: "/app/key", Type: ParameterStore},
	}
	spec := "version: 0.2\nenv:\n  secrets-manager:\n    PORT: db:port\n  parameter-store:\n    KEY2: /app/key\nphases:\n  build:\n    commands:\n" +
		`      - test "$DB_PW" = pw-from-sm && test "$TOKEN" = token-v2 && test "$OLD" = token-v1 && test "$FIRST" = token-v1` + "\n" +
		`      - test "$KEY" = param-secret && test "$KEY2" = param-secret && test "$PORT" = 5432` + "\n" +
		`      - echo "leak $DB_PW $TOKEN $KEY"` + "\n"
	log, err := run(t, spec, vars)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for _, v := range []string{"pw-from-sm", "token-v2", "param-secret"} {
		if strings.Contains(log, v) {
			t.Errorf("the log shows %s:\n%s", v, log)
		}
	}
	if !strings.Contains(log, "leak ") {
		t.Errorf("the build did not run:\n%s", log)
	}

	t.Run("undeclared", func(t *testing.T) {
		_, err := run(t, "version: 0.2\nenv:\n  secrets-manager:\n    X: other:key\nphases:\n  build:\n    commands: [\"true\"]\n", vars)
		if err == nil || !strings.Contains(err.Error(), `env.secrets-manager.X: "other:key" is not declared by the project`) {
			t.Fatalf("err = %v", err)
		}
		_, err = run(t, "version: 0.2\nenv:\n  parameter-store:\n    X: /other\nphases:\n  build:\n    commands: [\"true\"]\n", vars)
		if err == nil || !strings.Contains(err.Error(), `env.parameter-store.X: "/other" is not declared`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		for _, tc := range []struct {
			v    Variable
			want string
		}{
			{Variable{Name: "P", Value: "/nope", Type: ParameterStore}, "environment variable P: parameter /nope (Parameter Store, connection aws)"},
			{Variable{Name: "S", Value: "nope", Type: SecretsManager}, "environment variable S: secret nope (Secrets Manager, connection aws)"},
			{Variable{Name: "K", Value: "db:user", Type: SecretsManager}, "environment variable K: secret db (Secrets Manager, connection aws): json-key user: the secret has no such key"},
		} {
			_, err := run(t, "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\n", []Variable{tc.v})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw-from-sm") {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		}
	})
}
