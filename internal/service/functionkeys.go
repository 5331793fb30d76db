package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

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
		policy.Statement = append(policy.Statement, iam.Statement{Effect: iam.Allow,
			Action:   []string{iam.Prefix + "PutJobSuccessResult", iam.Prefix + "PutJobFailureResult", iam.Prefix + "AcknowledgeJob"},
			Resource: []string{"job/" + jobID}})
	}
	if len(policy.Statement) == 0 {
		return nil, func() {}, nil
	}
	doc, err := json.Marshal(policy)
	if err != nil {
		return nil, nil, err
	}
	var r [4]byte
	rand.Read(r[:])
	name := fn.Name
	if len(name) > 40 {
		name = name[:40]
	}
	name = "fn." + name + "." + hex.EncodeToString(r[:])
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
