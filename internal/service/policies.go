package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Named policies are what pipelines and build projects run with as their
// role (CodePipeline's roleArn, CodeBuild's serviceRole): a job gets a secret
// only when its role allows sluice:GetSecretValue on secret/NAME. A role is a
// ready-made policy by name or a policy stored here.

// PolicyInfo is a named policy.
type PolicyInfo struct {
	Name      string          `json:"name"`
	ReadyMade bool            `json:"readyMade,omitempty"`
	Document  json.RawMessage `json:"document"`
	Created   time.Time       `json:"created,omitzero"`
	Updated   time.Time       `json:"updated,omitzero"`
}

// PolicyRequest stores a named policy.
type PolicyRequest struct {
	Name     string
	Filename string // where the document came from, for its errors
	Document []byte // JSON or YAML, iam.Parse's
	// Holder is the policy of whoever asks, HolderName its name: as for
	// tokens, a role may allow nothing Holder does not.
	Holder     *iam.Policy
	HolderName string
}

// PutPolicy creates or replaces a named policy. A replacement applies to the
// next secret a job of a pipeline using it asks for.
func (s *Service) PutPolicy(ctx context.Context, req PolicyRequest) (PolicyInfo, error) {
	if err := checkPolicyName(req.Name); err != nil {
		return PolicyInfo{}, err
	}
	if _, ready := iam.ReadyMade(req.Name); ready || req.Name == iam.PolicyRead {
		return PolicyInfo{}, Errorf(CodeInvalid, "name: %s is a ready-made policy", req.Name)
	}
	if len(req.Document) > maxPolicyDocument {
		return PolicyInfo{}, Errorf(CodeInvalid, "policy document: larger than %d bytes", maxPolicyDocument)
	}
	if req.Filename == "" {
		req.Filename = req.Name + ".json"
	}
	p, err := iam.Parse(req.Filename, req.Document)
	if err != nil {
		return PolicyInfo{}, Errorf(CodeInvalid, "%s", err.Error())
	}
	if ok, why := iam.Covers(req.Holder, p); !ok {
		return PolicyInfo{}, Errorf(CodeForbidden, "policy %s allows %s, which %s does not hold (you can hand on only what you hold)",
			req.Name, why, holderName(req.HolderName))
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return PolicyInfo{}, err
	}
	now := s.now()
	row := store.Definition{Kind: store.KindPolicy, Name: req.Name, Document: doc, Created: now, Updated: now}
	if old, err := s.store.Definition(ctx, store.KindPolicy, req.Name); err == nil {
		row.Created = old.Created
	}
	if err := s.store.PutDefinition(ctx, row); err != nil {
		return PolicyInfo{}, err
	}
	return PolicyInfo{Name: row.Name, Document: doc, Created: row.Created, Updated: row.Updated}, nil
}

func checkPolicyName(name string) error {
	if err := pipeline.CheckName(name); err != nil {
		return Errorf(CodeInvalid, "name: %v", err)
	}
	if !tokenName.MatchString(name) {
		return Errorf(CodeInvalid, "name: %q is not a policy name (1-64 of letters, digits and ._@-)", name)
	}
	return nil
}

// Policies lists the stored policies (not the ready-made ones).
func (s *Service) Policies(ctx context.Context) ([]PolicyInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindPolicy)
	if err != nil {
		return nil, err
	}
	out := make([]PolicyInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, PolicyInfo{Name: r.Name, Document: r.Document, Created: r.Created, Updated: r.Updated})
	}
	return out, nil
}

// Policy returns a named policy: a stored one, or a ready-made one.
func (s *Service) Policy(ctx context.Context, name string) (PolicyInfo, error) {
	if p, ok := iam.ReadyMade(name); ok {
		doc, err := json.Marshal(p)
		return PolicyInfo{Name: name, ReadyMade: true, Document: doc}, err
	}
	r, err := s.store.Definition(ctx, store.KindPolicy, name)
	if errors.Is(err, store.ErrNotFound) {
		return PolicyInfo{}, Errorf(CodeNotFound, "policy %s not found", name)
	}
	if err != nil {
		return PolicyInfo{}, err
	}
	return PolicyInfo{Name: r.Name, Document: r.Document, Created: r.Created, Updated: r.Updated}, nil
}

// DeletePolicy deletes a stored policy. Pipelines naming it as their role
// then get no secrets until it exists again.
func (s *Service) DeletePolicy(ctx context.Context, name string) error {
	if _, ready := iam.ReadyMade(name); ready {
		return Errorf(CodeInvalid, "name: %s is a ready-made policy and cannot be deleted", name)
	}
	err := s.store.DeleteDefinition(ctx, store.KindPolicy, name)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "policy %s not found", name)
	}
	return err
}

// RolePolicy returns the policy of a role: "" is the default role
// (iam.PolicyDefaultPipeline), else a ready-made or stored policy by name.
func (s *Service) RolePolicy(ctx context.Context, role string) (*iam.Policy, error) {
	if role == "" {
		role = iam.PolicyDefaultPipeline
	}
	if p, ok := iam.ReadyMade(role); ok {
		return p, nil
	}
	r, err := s.store.Definition(ctx, store.KindPolicy, role)
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(CodeNotFound, "role %s: no policy of this name (sluice policy apply %s -f FILE makes one)", role, role)
	}
	if err != nil {
		return nil, err
	}
	var p iam.Policy
	if err := json.Unmarshal(r.Document, &p); err != nil {
		return nil, fmt.Errorf("role %s: stored policy does not read: %w", role, err)
	}
	return &p, nil
}

// CheckPassRole refuses to let holder apply a declaration that runs with
// role (what: "pipeline app") unless holder allows everything the role does:
// passing a role is handing on its rights.
func (s *Service) CheckPassRole(ctx context.Context, holder *iam.Policy, holderN, what, role string) error {
	p, err := s.RolePolicy(ctx, role)
	if err != nil {
		return Errorf(CodeInvalid, "%s: %s", what, ErrorMessage(err))
	}
	if ok, why := iam.Covers(holder, p); !ok {
		shown := role
		if shown == "" {
			shown = iam.PolicyDefaultPipeline + " (the role of a declaration that names none)"
		}
		return Errorf(CodeForbidden, "%s runs with role %s, which allows %s; %s does not hold that (you can hand on only what you hold)",
			what, shown, why, holderName(holderN))
	}
	return nil
}

// ResolveRole returns the name of the role a declaration runs with: role
// itself, or the name in an AWS role ARN; but when an ARN names a role
// sluice has no policy of, "" (the default role) — so that CodePipeline's
// and CodeBuild's files apply unchanged, and a policy made later under that
// name does not widen what was passed when it was applied.
func (s *Service) ResolveRole(ctx context.Context, role string) (string, error) {
	if !pipeline.IsRoleARN(role) {
		return role, nil
	}
	role = pipeline.RoleName(role)
	if _, err := s.RolePolicy(ctx, role); err != nil {
		if ErrorCode(err) == CodeNotFound {
			return "", nil
		}
		return "", err
	}
	return role, nil
}
