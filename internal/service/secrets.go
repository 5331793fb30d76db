package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Secrets are kept encrypted with AES-256-GCM under a key that lives outside
// the database (a file or an environment variable, see keyring.go), so a copy
// of the database alone reveals nothing. The API never returns a value; only a worker holding a job that
// names a secret may read it.

// SecretKeySize is the length of the key that encrypts secrets.
const SecretKeySize = 32

var secretName = lazyregexp.New(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

// SecretInfo is what may be shown of a secret.
type SecretInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// PutSecret stores a secret's value, replacing any earlier one.
func (s *Service) PutSecret(ctx context.Context, name string, value []byte) error {
	if err := pipeline.CheckPathName(name); err != nil {
		return Errorf(CodeInvalid, "name: %v", err)
	}
	if !secretName.MatchString(name) {
		return Errorf(CodeInvalid, "name: %q is not a secret name (1-512 of letters, digits and /_+=.@-)", name)
	}
	if len(value) == 0 || len(value) > 64<<10 {
		return Errorf(CodeInvalid, "value: must be 1 byte to 64 KiB")
	}
	// The name is authenticated with the value, so ciphertexts cannot be swapped
	// between secrets in the database.
	sealed, err := s.seal(value, []byte(name))
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.PutDefinition(ctx, store.Definition{Kind: store.KindSecret, Name: name, Document: sealed, Created: now, Updated: now})
}

// Secrets lists the secrets, without values.
func (s *Service) Secrets(ctx context.Context) ([]SecretInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindSecret)
	if err != nil {
		return nil, err
	}
	out := make([]SecretInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, SecretInfo{Name: r.Name, Created: r.Created, Updated: r.Updated})
	}
	return out, nil
}

// DeleteSecret deletes a secret.
func (s *Service) DeleteSecret(ctx context.Context, name string) error {
	err := s.store.DeleteDefinition(ctx, store.KindSecret, name)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "secret %s not found", name)
	}
	return err
}

// secretValue decrypts a secret for sluice's own use (a poll of a remote
// repository) or for a worker.
func (s *Service) secretValue(ctx context.Context, name string) ([]byte, error) {
	row, err := s.store.Definition(ctx, store.KindSecret, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeNotFound, "secret %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	value, _, err := s.unseal(row.Document, []byte(name))
	if err != nil {
		// Safe to show (it says why, never what), and the job that needed the
		// secret shows it: the operator learns of a wrong key from its summary.
		return nil, Errorf(CodeConflict, "secret %s cannot be decrypted: %v", name, err)
	}
	return value, nil
}

// JobSecret gives a worker the value of a secret its job names in its
// configuration (as CredentialsSecret) when the job's role allows
// sluice:GetSecretValue on secret/NAME; any other secret is refused. The role
// is asked now, as the job runs, so a changed or revoked grant applies to
// the next job at once.
func (s *Service) JobSecret(ctx context.Context, jobID, worker, name string) ([]byte, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return nil, err
	}
	if !s.jobNamesSecret(ctx, j, name) {
		return nil, Errorf(CodeForbidden, "job %s does not name secret %s in its configuration", jobID, name)
	}
	role, err := s.jobRole(ctx, j)
	if err != nil {
		return nil, err
	}
	policy, err := s.RolePolicy(ctx, role)
	if err != nil {
		return nil, Errorf(CodeForbidden, "secret %s: %s", name, ErrorMessage(err))
	}
	if ok, why := iam.Evaluate(policy, iam.Prefix+"GetSecretValue", "secret/"+name); !ok {
		shown := role
		if shown == "" {
			shown = iam.PolicyDefaultPipeline
		}
		return nil, Errorf(CodeForbidden, "secret %s: role %s of %s does not allow sluice:GetSecretValue on secret/%s (%s)",
			name, shown, jobOwner(j), name, why)
	}
	return s.secretValue(ctx, name)
}

// jobRole names the role a job runs with: for a build, its project's
// serviceRole when it has one; else its pipeline's role ("" is the
// default role).
func (s *Service) jobRole(ctx context.Context, j engine.Job) (string, error) {
	if err := s.forkWithheld(ctx, j); err != nil {
		return "", err
	}
	if pipeline.IsBuild(j.ActionType.Provider) {
		if info, err := s.Project(ctx, j.Configuration["ProjectName"]); err == nil && info.Project.ServiceRole != "" {
			return info.Project.ServiceRole, nil
		}
	}
	info, err := s.Pipeline(ctx, j.Pipeline)
	if err != nil {
		return "", Errorf(CodeForbidden, "job %s: its pipeline %s: %s", j.ID, j.Pipeline, ErrorMessage(err))
	}
	return info.Declaration.Role, nil
}

// forkWithheld refuses every secret and connection to a job, other than a
// source action's, of an execution a pull request from a fork started,
// unless its pipeline says forkSecrets: true. Every grant a job's role
// makes passes through jobRole, so this one check covers secrets, aws and
// git host connections alike.
func (s *Service) forkWithheld(ctx context.Context, j engine.Job) error {
	if j.ActionType.Category == pipeline.CategorySource || j.ExecutionID == "" {
		return nil
	}
	e, err := s.Execution(ctx, j.Pipeline, j.ExecutionID)
	if err != nil {
		return Errorf(CodeForbidden, "job %s: its execution %s: %s", j.ID, j.ExecutionID, ErrorMessage(err))
	}
	fork := e.TriggerVariables[pipeline.TriggerHeadRepository]
	if fork == "" {
		return nil
	}
	if info, err := s.Pipeline(ctx, j.Pipeline); err == nil && info.Declaration.ForkSecrets {
		return nil
	}
	return Errorf(CodeForbidden, "execution %s of pipeline %s builds pull request #%s from fork %s: its jobs get no secrets or connections (set forkSecrets: true on the pipeline to trust forks' code with them)",
		e.ID, j.Pipeline, e.TriggerVariables["PullRequestId"], fork)
}

func jobOwner(j engine.Job) string {
	if pipeline.IsBuild(j.ActionType.Provider) {
		return fmt.Sprintf("pipeline %s (project %s)", j.Pipeline, j.Configuration["ProjectName"])
	}
	return "pipeline " + j.Pipeline
}

// jobNamesSecret reports whether a job may read secret name: its configuration
// names it (CredentialsSecret), or, for a build, a secret-typed variable of its
// project or of the action's EnvironmentVariables does.
func (s *Service) jobNamesSecret(ctx context.Context, j engine.Job, name string) bool {
	for k, v := range j.Configuration {
		if v == name && strings.HasSuffix(k, "Secret") {
			return true
		}
	}
	type variable struct{ Name, Value, Type string }
	var vars []variable
	if raw := j.Configuration["EnvironmentVariables"]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &vars) // malformed: the build fails on it anyway
	}
	if pipeline.IsBuild(j.ActionType.Provider) {
		if info, err := s.Project(ctx, j.Configuration["ProjectName"]); err == nil {
			for _, v := range info.Project.EnvironmentVariables {
				vars = append(vars, variable{Name: v.Name, Value: v.Value, Type: v.Type})
			}
		}
	}
	for _, v := range vars {
		if t := strings.ToUpper(v.Type); v.Value == name && (t == "SECRETS_MANAGER" || t == "PARAMETER_STORE") {
			return true
		}
	}
	return false
}

// MirrorSecret returns the value of the secret holding a repository
// mirror's password, for the mirror runner alone (never an API answer): the
// right to use the secret was checked when the mirror was set, as a rule's
// webhook secret is (the caller needed sluice:GetSecretValue on it).
func (s *Service) MirrorSecret(ctx context.Context, name string) ([]byte, error) {
	return s.secretValue(ctx, name)
}
