package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/store"
)

// An agent's group and tags decide which deployment groups' revisions it
// receives (application code, and often configuration with secrets in it),
// so they are not the agent's to choose after the fact. Each agent has its
// own token, which speaks only for agent/NAME; but a stolen token could
// still re-register its agent into another group, or add a tag such as
// env=prod, and be handed that group's revisions. So the server pins them:
//
//   - The first registration of an agent id records its group and tags
//     (trust on first use). Whoever installs an agent and its token is the
//     one who decides where it belongs; that is CodeDeploy's on-premises
//     model too, where an admin registers the instance and sets its tags
//     (register-on-premises-instance, add-tags-to-on-premises-instances)
//     and the agent's own configuration cannot change them.
//   - Every later registration or claim naming another group or other tags
//     is refused with 403 Forbidden (so the audit trail records it as
//     denied), names what differs, and changes nothing.
//   - An admin (sluice:RegisterOnPremisesInstance on agent/NAME) sets an
//     agent's group and tags, before it first runs or to move it; and
//     (sluice:DeregisterOnPremisesInstance) clears the record, after which
//     the next registration is trusted again. The agent policy grants
//     neither, so an agent's token cannot move its agent.
//
// An agent registered before an admin meant it to is the trust-on-first-use
// window; an admin who wants none registers each agent before handing out
// its token.

// validateAgent checks a registration's fields.
func validateAgent(a DeployAgent) error {
	if err := validateName("agent id", a.ID); err != nil {
		return err
	}
	if err := validateName("group", a.Group); err != nil {
		return err
	}
	for k := range a.Tags {
		if k == "" {
			return Errorf(CodeInvalid, "tags: a key is empty")
		}
	}
	return nil
}

// deployAgent reads agent id's record.
func (s *Service) deployAgent(ctx context.Context, id string) (DeployAgent, bool, error) {
	row, err := s.store.Definition(ctx, store.KindDeployAgent, id)
	if errors.Is(err, store.ErrNotFound) {
		return DeployAgent{}, false, nil
	}
	if err != nil {
		return DeployAgent{}, false, err
	}
	var a DeployAgent
	if err := json.Unmarshal(row.Document, &a); err != nil {
		return DeployAgent{}, false, fmt.Errorf("decode agent %s: %w", id, err)
	}
	return a, true, nil
}

// checkPinned refuses registration a unless it names pinned's group and tags.
func checkPinned(pinned, a DeployAgent) error {
	var diffs []string
	if a.Group != pinned.Group {
		diffs = append(diffs, fmt.Sprintf("group %q (registered: %q)", a.Group, pinned.Group))
	}
	if !maps.Equal(a.Tags, pinned.Tags) {
		diffs = append(diffs, fmt.Sprintf("tags %s (registered: %s)", tagList(a.Tags), tagList(pinned.Tags)))
	}
	if len(diffs) == 0 {
		return nil
	}
	return Errorf(CodeForbidden, "agent %s asks for %s: an agent's group and tags are pinned at its first registration; "+
		"an admin changes them with `sluice deployment register-agent %s --group GROUP [--tag KEY=VALUE]...` "+
		"(sluice:RegisterOnPremisesInstance) or clears them with `sluice deployment deregister-agent %s`",
		a.ID, strings.Join(diffs, " and "), a.ID, a.ID)
}

// tagList is tags as k=v,… in key order, or "none".
func tagList(tags map[string]string) string {
	if len(tags) == 0 {
		return "none"
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, k+"="+tags[k])
	}
	return strings.Join(out, ",")
}

// SetAgentRegistration records agent a's group and tags as an admin sets
// them, whether or not it has registered; its next claims must match them.
func (s *Service) SetAgentRegistration(ctx context.Context, a DeployAgent) (DeployAgent, error) {
	if err := validateAgent(a); err != nil {
		return DeployAgent{}, err
	}
	unlock, err := s.lockAgents(ctx)
	if err != nil {
		return DeployAgent{}, err
	}
	defer unlock()
	old, _, err := s.deployAgent(ctx, a.ID)
	if err != nil {
		return DeployAgent{}, err
	}
	a.LastSeen = old.LastSeen // zero when it has never been seen
	if err := s.putAgent(ctx, a); err != nil {
		return DeployAgent{}, err
	}
	return a, nil
}

// DeregisterAgent forgets agent id's registration: its next claim is
// recorded as a first one.
func (s *Service) DeregisterAgent(ctx context.Context, id string) error {
	unlock, err := s.lockAgents(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, found, err := s.deployAgent(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return Errorf(CodeNotFound, "agent %s: not registered", id)
	}
	return s.store.DeleteDefinition(ctx, store.KindDeployAgent, id)
}
