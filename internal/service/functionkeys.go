package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/iam"
)

// Functions speak AWS: a command function's process gets an access key for
// sluice's AWS-compatible endpoint, so that a handler written for Lambda
// (boto3's put_job_success_result, get_pipeline_state, put_rule, …) runs
// unchanged. The key belongs to a token made for this one invocation, named
// fn.NAME.RANDOM so the audit trail says whose calls they were, whose policy
// is the function's role (checked when the function was applied: see the
// API's applyFunction) and, for an invocation for a job, the right to answer
// for that job alone — the scope of the job token. The token expires a
// minute after the function's timeout and is revoked when the invocation
// ends, taking the key with it.

// FunctionCredentials are an invocation's AWS credentials.
type FunctionCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// Token is the name of the token behind the key.
	Token string
}

// FunctionCredentials makes the credentials of one invocation of fn (for
// job jobID, "" when a rule invokes it), and returns them with what to call
// when the invocation ends. A function with no role invoked by a rule gets
// none: nil, and a revoke that does nothing.
func (s *Service) FunctionCredentials(ctx context.Context, fn function.Function, jobID string) (*FunctionCredentials, func(), error) {
	var r [4]byte
	rand.Read(r[:])
	return s.functionCredentials(ctx, fn, jobID, "fn."+shortName(fn.Name)+"."+hex.EncodeToString(r[:]))
}

// shortName keeps a token name made of a function's within 64 characters.
func shortName(name string) string {
	if len(name) > 40 {
		return name[:40]
	}
	return name
}

// jobTokenName is the name of the token behind the credentials of job
// jobID's function: one per job, so that its answer can revoke it.
func jobTokenName(fn, jobID string) string {
	h := sha256.Sum256([]byte(jobID))
	return "fn." + shortName(fn) + ".job-" + hex.EncodeToString(h[:6])
}

func (s *Service) functionCredentials(ctx context.Context, fn function.Function, jobID, name string) (*FunctionCredentials, func(), error) {
	policy := &iam.Policy{Version: iam.Version}
	if fn.Role != "" {
		role, err := s.ResolveRole(ctx, fn.Role)
		if err != nil {
			return nil, nil, err
		}
		if role != "" {
			p, err := s.RolePolicy(ctx, role)
			if err != nil {
				return nil, nil, Errorf(CodeForbidden, "function %s: %s", fn.Name, ErrorMessage(err))
			}
			policy.Statement = append(policy.Statement, p.Statement...)
		}
	}
	if jobID != "" {
		// The job token's own scope: answer for this job, nothing more;
		// but a key does not make keys.
		for _, st := range iam.JobPolicy(jobID).Statement {
			st.Action = slices.DeleteFunc(slices.Clone(st.Action), func(a string) bool { return a == iam.Prefix+"CreateJobCredentials" })
			policy.Statement = append(policy.Statement, st)
		}
	}
	if len(policy.Statement) == 0 {
		return nil, func() {}, nil
	}
	doc, err := json.Marshal(policy)
	if err != nil {
		return nil, nil, err
	}
	timeout := time.Duration(max(fn.TimeoutInMinutes, function.MinTimeout)) * time.Minute
	secret, _, err := s.CreateToken(ctx, TokenRequest{Name: name, Policy: "function-" + fn.Name + ".json", Document: doc,
		ExpiresIn: timeout + time.Minute, Holder: policy, HolderName: "function " + fn.Name})
	if err != nil {
		return nil, nil, err
	}
	revoke := func() {
		if err := s.RevokeToken(context.WithoutCancel(ctx), name); err != nil && ErrorCode(err) != CodeNotFound {
			s.log.Warn("revoking a function's credentials", "token", name, "err", err)
		}
	}
	key, err := s.CreateAccessKey(ctx, secret)
	if err != nil {
		revoke()
		return nil, nil, err
	}
	return &FunctionCredentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret, Token: name}, revoke, nil
}

// JobFunctionCredentials makes the AWS credentials of the function that job
// jobID invokes (a Function or Lambda invoke action), asked by the worker
// that runs it with the job's token: the function's role, and the job's
// scope. The job must be running. They are not revoked when the worker's
// command exits (the function may answer later, as Lambda's may): they
// expire a minute after the function's timeout.
func (s *Service) JobFunctionCredentials(ctx context.Context, jobID string) (*FunctionCredentials, error) {
	row, err := s.store.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeNotFound, "job %s not found", jobID)
	}
	if err != nil {
		return nil, err
	}
	if row.Status != store.JobInProgress {
		return nil, Errorf(CodeConflict, "job %s is %s, not running: its function gets no credentials", jobID, row.Status)
	}
	var j engine.Job
	if err := json.Unmarshal(row.Payload, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", jobID, err)
	}
	name := j.Configuration["FunctionName"]
	if name == "" {
		return nil, Errorf(CodeInvalid, "job %s invokes no function", jobID)
	}
	info, err := s.Function(ctx, name)
	if err != nil {
		return nil, err
	}
	// A function invoked again (a continuation) gets a new key; the old
	// one goes.
	name = jobTokenName(info.Function.Name, jobID)
	if err := s.RevokeToken(ctx, name); err != nil && ErrorCode(err) != CodeNotFound {
		return nil, err
	}
	c, _, err := s.functionCredentials(ctx, info.Function, jobID, name)
	return c, err
}

// revokeJobCredentials revokes the credentials of job jobID's function, once
// it has answered for the job: whatever it left running loses them.
func (s *Service) revokeJobCredentials(ctx context.Context, jobID string) {
	row, err := s.store.Job(ctx, jobID)
	if err != nil {
		return
	}
	var j engine.Job
	if json.Unmarshal(row.Payload, &j) != nil || j.Configuration["FunctionName"] == "" {
		return
	}
	if err := s.RevokeToken(context.WithoutCancel(ctx), jobTokenName(j.Configuration["FunctionName"], jobID)); err != nil && ErrorCode(err) != CodeNotFound {
		s.log.Warn("revoking a function's credentials", "job", jobID, "err", err)
	}
}

// CheckFunctionRole refuses to let holder make a rule target of fn (or
// apply fn) unless holder allows everything fn's role does: invoking a
// function with a role hands the role on.
func (s *Service) CheckFunctionRole(ctx context.Context, holder *iam.Policy, holderName string, fn function.Function) error {
	if fn.Role == "" {
		return nil
	}
	role, err := s.ResolveRole(ctx, fn.Role)
	if err != nil || role == "" {
		return err
	}
	return s.CheckPassRole(ctx, holder, holderName, "function "+fn.Name, role)
}
