package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
	"github.com/sluice-ci/sluice/internal/store"
)

// Approval rule templates are CodeCommit's: a named approval rule content
// associated with repositories; a pull request opened in an associated
// repository, towards a destination the content's DestinationReferences
// name (or any, when it names none), gets the template's rule.

// ApprovalRuleTemplate is a stored template.
type ApprovalRuleTemplate struct {
	Name         string    `json:"approvalRuleTemplateName"`
	Description  string    `json:"approvalRuleTemplateDescription,omitempty"`
	Content      string    `json:"approvalRuleTemplateContent"`
	Repositories []string  `json:"repositories"`
	Created      time.Time `json:"creationDate"`
	Updated      time.Time `json:"lastModifiedDate"`
}

var templateName = lazyregexp.New(`^[A-Za-z0-9._-]{1,100}$`)

// CreateApprovalRuleTemplate stores a new template.
func (s *Service) CreateApprovalRuleTemplate(ctx context.Context, name, description, content string) (ApprovalRuleTemplate, error) {
	if !templateName.MatchString(name) {
		return ApprovalRuleTemplate{}, Errorf(CodeInvalid, "approvalRuleTemplateName: %q: 1-100 of letters, digits and ._-", name)
	}
	if err := checkText("approvalRuleTemplateDescription", description, 1000, false); err != nil {
		return ApprovalRuleTemplate{}, err
	}
	if _, err := ParseApprovalRuleContent(content); err != nil {
		return ApprovalRuleTemplate{}, err
	}
	now := s.now()
	t := ApprovalRuleTemplate{Name: name, Description: description, Content: content, Repositories: []string{}, Created: now, Updated: now}
	err := s.putTemplate(ctx, t, 0)
	if errors.Is(err, store.ErrConflict) {
		return ApprovalRuleTemplate{}, Errorf(CodeConflict, "approval rule template %s exists already", name)
	}
	return t, err
}

// putTemplate writes t on condition that it is still at revision (0: that
// it does not exist), so that two replicas changing one template at once do
// not lose a change; see store.Tx.PutDefinition.
func (s *Service) putTemplate(ctx context.Context, t ApprovalRuleTemplate, revision int64) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		return tx.PutDefinition(ctx, store.Definition{Kind: store.KindApprovalRuleTemplate, Name: t.Name, Document: raw, Created: t.Created, Updated: t.Updated, Revision: revision})
	})
}

// ApprovalRuleTemplate returns a template.
func (s *Service) ApprovalRuleTemplate(ctx context.Context, name string) (ApprovalRuleTemplate, error) {
	t, _, err := s.templateAt(ctx, name)
	return t, err
}

// templateAt returns a template and the revision it was read at.
func (s *Service) templateAt(ctx context.Context, name string) (ApprovalRuleTemplate, int64, error) {
	d, err := s.store.Definition(ctx, store.KindApprovalRuleTemplate, name)
	if errors.Is(err, store.ErrNotFound) {
		return ApprovalRuleTemplate{}, 0, Errorf(CodeNotFound, "approval rule template %s not found", name)
	}
	if err != nil {
		return ApprovalRuleTemplate{}, 0, err
	}
	var t ApprovalRuleTemplate
	if err := json.Unmarshal(d.Document, &t); err != nil {
		return ApprovalRuleTemplate{}, 0, fmt.Errorf("approval rule template %s: %w", name, err)
	}
	return t, d.Revision, nil
}

// ApprovalRuleTemplates lists the templates by name.
func (s *Service) ApprovalRuleTemplates(ctx context.Context) ([]ApprovalRuleTemplate, error) {
	defs, err := s.store.Definitions(ctx, store.KindApprovalRuleTemplate)
	if err != nil {
		return nil, err
	}
	out := make([]ApprovalRuleTemplate, 0, len(defs))
	for _, d := range defs {
		var t ApprovalRuleTemplate
		if err := json.Unmarshal(d.Document, &t); err != nil {
			return nil, fmt.Errorf("approval rule template %s: %w", d.Name, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// DeleteApprovalRuleTemplate deletes a template; the rules it gave pull
// requests stay with them, as in CodeCommit.
func (s *Service) DeleteApprovalRuleTemplate(ctx context.Context, name string) error {
	err := s.store.DeleteDefinition(ctx, store.KindApprovalRuleTemplate, name)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "approval rule template %s not found", name)
	}
	return err
}

// AssociateApprovalRuleTemplate associates (or, with associate false,
// disassociates) a template with a repository, which must exist (exists is
// asked).
func (s *Service) AssociateApprovalRuleTemplate(ctx context.Context, name, repo string, associate bool, exists func(string) error) (ApprovalRuleTemplate, error) {
	if associate {
		if err := exists(repo); err != nil {
			return ApprovalRuleTemplate{}, err
		}
	}
	for attempt := 1; ; attempt++ {
		t, revision, err := s.templateAt(ctx, name)
		if err != nil {
			return ApprovalRuleTemplate{}, err
		}
		if associate {
			if !slices.Contains(t.Repositories, repo) {
				t.Repositories = append(t.Repositories, repo)
				slices.Sort(t.Repositories)
			}
		} else {
			t.Repositories = slices.DeleteFunc(t.Repositories, func(r string) bool { return r == repo })
		}
		t.Updated = s.now()
		err = s.putTemplate(ctx, t, revision)
		if !errors.Is(err, store.ErrConflict) {
			return t, err
		}
		if attempt == pullAttempts {
			return ApprovalRuleTemplate{}, Errorf(CodeConflict, "approval rule template %s: changed by others %d times meanwhile; try again", name, attempt)
		}
	}
}
