package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/store"
)

// Deployment groups say which agents a CodeDeploy action's deployment
// reaches and how (see package deploygroup). They are stored whole under
// APPLICATION/GROUP.

// DeployGroupInfo is a stored deployment group.
type DeployGroupInfo struct {
	Group   deploygroup.Group
	Created time.Time
	Updated time.Time
}

// DeployGroupApplyResult says what applying a deployment group did.
type DeployGroupApplyResult struct {
	Created bool
	Changed bool
	Info    DeployGroupInfo
}

// ApplyDeployGroup reads a deployment group file (YAML or JSON), checks it
// and stores it, creating or replacing the group of its application and name.
func (s *Service) ApplyDeployGroup(ctx context.Context, filename string, data []byte) (DeployGroupApplyResult, error) {
	g, err := deploygroup.Parse(filename, data)
	if err != nil {
		return DeployGroupApplyResult{}, Errorf(CodeInvalid, "%s", err.Error())
	}
	return s.PutDeployGroup(ctx, g)
}

// PutDeployGroup checks g and stores it. Storing the same group again
// changes nothing.
func (s *Service) PutDeployGroup(ctx context.Context, g *deploygroup.Group) (DeployGroupApplyResult, error) {
	if err := g.Validate(); err != nil {
		return DeployGroupApplyResult{}, Errorf(CodeInvalid, "%v", err)
	}
	raw, err := json.Marshal(g)
	if err != nil {
		return DeployGroupApplyResult{}, err
	}
	res := DeployGroupApplyResult{Created: true, Changed: true}
	now := s.now()
	row := store.Definition{Kind: store.KindDeployGroup, Name: g.Key(), Document: raw, Created: now, Updated: now}
	old, err := s.store.Definition(ctx, store.KindDeployGroup, g.Key())
	switch {
	case err == nil:
		res.Created = false
		row.Created = old.Created
		if canonicalJSON(old.Document, &deploygroup.Group{}) == string(raw) {
			res.Changed = false
			res.Info, err = decodeDeployGroup(old)
			return res, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return DeployGroupApplyResult{}, err
	}
	if err := s.store.PutDefinition(ctx, row); err != nil {
		return DeployGroupApplyResult{}, err
	}
	res.Info = DeployGroupInfo{Group: *g, Created: row.Created, Updated: row.Updated}
	return res, nil
}

// DeployGroups lists the deployment groups, of one application when app is
// not empty, by application and name.
func (s *Service) DeployGroups(ctx context.Context, app string) ([]DeployGroupInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindDeployGroup)
	if err != nil {
		return nil, err
	}
	out := make([]DeployGroupInfo, 0, len(rows))
	for _, r := range rows {
		if app != "" && !strings.HasPrefix(r.Name, app+"/") {
			continue
		}
		g, err := decodeDeployGroup(r)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// DeployGroup returns one deployment group.
func (s *Service) DeployGroup(ctx context.Context, app, name string) (DeployGroupInfo, error) {
	row, err := s.store.Definition(ctx, store.KindDeployGroup, deploygroup.Key(app, name))
	if errors.Is(err, store.ErrNotFound) {
		return DeployGroupInfo{}, Errorf(CodeNotFound, "deployment group %s of application %s not found", name, app)
	}
	if err != nil {
		return DeployGroupInfo{}, err
	}
	return decodeDeployGroup(row)
}

func decodeDeployGroup(r store.Definition) (DeployGroupInfo, error) {
	g := DeployGroupInfo{Created: r.Created, Updated: r.Updated}
	if err := json.Unmarshal(r.Document, &g.Group); err != nil {
		return g, fmt.Errorf("decode deployment group %s: %w", r.Name, err)
	}
	return g, nil
}

// DeleteDeployGroup deletes a deployment group. CodeDeploy actions naming it
// fail when they run.
func (s *Service) DeleteDeployGroup(ctx context.Context, app, name string) error {
	if err := s.store.DeleteDefinition(ctx, store.KindDeployGroup, deploygroup.Key(app, name)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "deployment group %s of application %s not found", name, app)
		}
		return err
	}
	return nil
}
