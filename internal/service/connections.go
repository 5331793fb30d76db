package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// Connections are how actions reach other systems (aws accounts). A
// connection names the secret holding its credentials; only the worker
// holding a job that uses the connection ever gets the secret's values
// (JobConnection), and only when the job's role may read that secret.

// ConnectionInfo is a stored connection.
type ConnectionInfo struct {
	Connection connection.Connection
	Created    time.Time
	Updated    time.Time
}

// ConnectionApplyResult says what applying a connection did.
type ConnectionApplyResult struct {
	Name    string
	Created bool
	Changed bool
	Info    ConnectionInfo
}

// ApplyConnection reads a connection file (YAML or JSON, told apart by
// filename), checks it and stores it, creating or replacing the connection
// of its name.
func (s *Service) ApplyConnection(ctx context.Context, filename string, data []byte) (ConnectionApplyResult, error) {
	c, err := connection.Parse(filename, data)
	if err != nil {
		return ConnectionApplyResult{}, Errorf(CodeInvalid, "%s", err.Error())
	}
	return s.PutConnection(ctx, c)
}

// PutConnection checks c and stores it. Storing the same definition again
// changes nothing.
func (s *Service) PutConnection(ctx context.Context, c *connection.Connection) (ConnectionApplyResult, error) {
	if err := c.Validate(); err != nil {
		return ConnectionApplyResult{}, Errorf(CodeInvalid, "%v", err)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return ConnectionApplyResult{}, err
	}
	res := ConnectionApplyResult{Name: c.Name, Created: true, Changed: true}
	now := s.now()
	row := store.Definition{Kind: store.KindConnection, Name: c.Name, Document: raw, Created: now, Updated: now}
	old, err := s.store.Definition(ctx, store.KindConnection, c.Name)
	switch {
	case err == nil:
		res.Created = false
		row.Created = old.Created
		if canonicalJSON(old.Document, &connection.Connection{}) == string(raw) {
			res.Changed = false
			res.Info, err = decodeConnection(old)
			return res, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return ConnectionApplyResult{}, err
	}
	if err := s.store.PutDefinition(ctx, row); err != nil {
		return ConnectionApplyResult{}, err
	}
	res.Info = ConnectionInfo{Connection: *c, Created: row.Created, Updated: row.Updated}
	return res, nil
}

// Connections lists the connections by name.
func (s *Service) Connections(ctx context.Context) ([]ConnectionInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindConnection)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectionInfo, 0, len(rows))
	for _, r := range rows {
		c, err := decodeConnection(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Connection returns one connection.
func (s *Service) Connection(ctx context.Context, name string) (ConnectionInfo, error) {
	row, err := s.store.Definition(ctx, store.KindConnection, name)
	if errors.Is(err, store.ErrNotFound) {
		return ConnectionInfo{}, Errorf(CodeNotFound, "connection %s not found", name)
	}
	if err != nil {
		return ConnectionInfo{}, err
	}
	return decodeConnection(row)
}

func decodeConnection(r store.Definition) (ConnectionInfo, error) {
	c := ConnectionInfo{Created: r.Created, Updated: r.Updated}
	if err := json.Unmarshal(r.Document, &c.Connection); err != nil {
		return c, fmt.Errorf("decode connection %s: %w", r.Name, err)
	}
	return c, nil
}

// DeleteConnection deletes a connection. Actions naming it fail when they run.
func (s *Service) DeleteConnection(ctx context.Context, name string) error {
	if err := s.store.DeleteDefinition(ctx, store.KindConnection, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Errorf(CodeNotFound, "connection %s not found", name)
		}
		return err
	}
	return nil
}

// DefaultConnection is the connection an aws action uses when it names none
// and its region does not pick one.
const DefaultConnection = "default"

// JobConnection gives the worker holding a job the connection the job uses,
// with the credentials from its secret. name is the connection the job names
// (its `Connection` configuration, or its build project's `connection`), or
// "" for the one its action's region picks: the only aws connection with
// that region, else the one named default. The action's roleArn, when it
// has one, is the role assumed. A connection whose keys are in a secret is
// given only when the job's role may read that secret, as for any secret.
func (s *Service) JobConnection(ctx context.Context, jobID, worker, name string) (awsconn.Settings, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return awsconn.Settings{}, err
	}
	return s.jobConnection(ctx, j, name)
}

// ActionConnection is JobConnection for the server's own use on behalf of
// an action of a pipeline (polling an S3 source's object): the same
// connection, under the same role checks, the action's jobs would get.
func (s *Service) ActionConnection(ctx context.Context, pipelineName, stage, action string) (awsconn.Settings, error) {
	info, err := s.Pipeline(ctx, pipelineName)
	if err != nil {
		return awsconn.Settings{}, err
	}
	for _, st := range info.Declaration.Stages {
		for _, a := range st.Actions {
			if st.Name == stage && a.Name == action {
				j := engine.Job{ID: "poll", Pipeline: pipelineName, Stage: stage, Action: action, ActionType: a.ActionTypeID, Configuration: a.Configuration}
				return s.jobConnection(ctx, j, a.Configuration["Connection"])
			}
		}
	}
	return awsconn.Settings{}, Errorf(CodeNotFound, "pipeline %s has no action %s in stage %s", pipelineName, action, stage)
}

// ActionConnectionName is the name of the aws connection an action of a
// pipeline reads through (its Connection, or the one its region picks),
// without its credentials: what an S3 store's event notification to that
// connection's webhook is matched against.
func (s *Service) ActionConnectionName(ctx context.Context, pipelineName, stage string, a pipeline.Action) (string, error) {
	if name := a.Configuration["Connection"]; name != "" {
		return name, nil
	}
	region, _ := s.jobActionRegionRole(ctx, engine.Job{Pipeline: pipelineName, Stage: stage, Action: a.Name})
	info, err := s.regionConnection(ctx, region)
	if err != nil {
		return "", err
	}
	return info.Connection.Name, nil
}

func (s *Service) jobConnection(ctx context.Context, j engine.Job, name string) (awsconn.Settings, error) {
	jobID := j.ID
	var err error
	region, roleARN := s.jobActionRegionRole(ctx, j)
	var info ConnectionInfo
	switch {
	case name != "":
		if !s.jobNamesConnection(ctx, j, name) {
			return awsconn.Settings{}, Errorf(CodeForbidden, "job %s does not name connection %s in its configuration", jobID, name)
		}
		if info, err = s.Connection(ctx, name); err != nil {
			return awsconn.Settings{}, err
		}
	default:
		if info, err = s.regionConnection(ctx, region); err != nil {
			return awsconn.Settings{}, err
		}
	}
	c := info.Connection
	if roleARN != "" && c.Kind == connection.KindAWS {
		r := connection.Role{ARN: roleARN}
		if c.Role != nil {
			r = *c.Role
			r.ARN = roleARN
		}
		c.Role = &r
	}
	return s.awsSettings(ctx, c, func(action, resource string) error { return s.roleAllows(ctx, j, action, resource) })
}

// awsSettings is aws connection c with its keys, when allowed says the one
// using it may have them: UseConnection on the connection for the
// worker's own identity (no secret guards it), GetSecretValue on its secret
// otherwise.
func (s *Service) awsSettings(ctx context.Context, c connection.Connection, allowed func(action, resource string) error) (awsconn.Settings, error) {
	if c.Kind != connection.KindAWS {
		return awsconn.Settings{}, Errorf(CodeInvalid, "connection %s is a git host (kind %s), not an aws connection", c.Name, c.Kind)
	}
	if c.Credentials.FromWorker {
		if err := allowed("UseConnection", "connection/"+c.Name); err != nil {
			return awsconn.Settings{}, Errorf(CodeForbidden, "connection %s: %s", c.Name, ErrorMessage(err))
		}
		return c.Settings(nil), nil
	}
	if err := allowed("GetSecretValue", "secret/"+c.Credentials.Secret); err != nil {
		return awsconn.Settings{}, Errorf(CodeForbidden, "connection %s: %s", c.Name, ErrorMessage(err))
	}
	value, err := s.secretValue(ctx, c.Credentials.Secret)
	if err != nil {
		return awsconn.Settings{}, Errorf(CodeForbidden, "connection %s: %s", c.Name, ErrorMessage(err))
	}
	keys, err := connection.ParseKeys(value)
	if err != nil {
		return awsconn.Settings{}, Errorf(CodeInvalid, "connection %s: secret %s: %v", c.Name, c.Credentials.Secret, err)
	}
	return c.Settings(&keys), nil
}

// DeployGroupConnection is the aws connection name (the one named default
// for "") that deployment group g reads its alarms through. Only a
// connection the group names is given; whoever applied the group was
// allowed sluice:UseConnection on it (the API checks at apply).
func (s *Service) DeployGroupConnection(ctx context.Context, g deploygroup.Group, name string) (awsconn.Settings, error) {
	if !slices.Contains(g.Connections(), name) {
		return awsconn.Settings{}, Errorf(CodeForbidden, "deployment group %s does not name connection %q", g.Key(), name)
	}
	if name == "" {
		name = DefaultConnection
	}
	info, err := s.Connection(ctx, name)
	if err != nil {
		return awsconn.Settings{}, err
	}
	return s.awsSettings(ctx, info.Connection, func(string, string) error { return nil })
}

// regionConnection picks the connection for an action that names none.
func (s *Service) regionConnection(ctx context.Context, region string) (ConnectionInfo, error) {
	all, err := s.Connections(ctx)
	if err != nil {
		return ConnectionInfo{}, err
	}
	if region != "" {
		var match []ConnectionInfo
		for _, c := range all {
			if c.Connection.Kind == connection.KindAWS && c.Connection.Region == region {
				match = append(match, c)
			}
		}
		if len(match) == 1 {
			return match[0], nil
		}
	}
	i := slices.IndexFunc(all, func(c ConnectionInfo) bool { return c.Connection.Name == DefaultConnection })
	if i < 0 {
		if region != "" {
			return ConnectionInfo{}, Errorf(CodeNotFound, "no connection for the action: none or several aws connections have region %s, and there is no connection named %s; give the action a Connection", region, DefaultConnection)
		}
		return ConnectionInfo{}, Errorf(CodeNotFound, "no connection for the action: it names none and there is no connection named %s; give the action a Connection", DefaultConnection)
	}
	c := all[i]
	if region != "" {
		c.Connection.Region = region
	}
	return c, nil
}

// jobActionRegionRole returns the action's region and roleArn from the
// pipeline's declaration, or "" for each.
func (s *Service) jobActionRegionRole(ctx context.Context, j engine.Job) (region, roleARN string) {
	info, err := s.Pipeline(ctx, j.Pipeline)
	if err != nil || info.Declaration == nil {
		return "", ""
	}
	for _, st := range info.Declaration.Stages {
		if st.Name != j.Stage {
			continue
		}
		for _, a := range st.Actions {
			if a.Name == j.Action {
				return a.Region, a.RoleArn
			}
		}
	}
	return "", ""
}

// jobNamesConnection reports whether the job's configuration, or its build
// project, names the connection.
func (s *Service) jobNamesConnection(ctx context.Context, j engine.Job, name string) bool {
	if j.Configuration["Connection"] == name {
		return true
	}
	if p := j.ActionType.Provider; p == "Build" || p == "CodeBuild" {
		if info, err := s.Project(ctx, j.Configuration["ProjectName"]); err == nil && info.Project.Connection == name {
			return true
		}
	}
	return false
}

// JobRoleAllows checks that the role job j runs with allows sluice:ACTION on
// resource: what the server does on a job's behalf (signing its approval
// notifications with a secret) is bounded by the job's role, as what the
// job's worker is handed is.
func (s *Service) JobRoleAllows(ctx context.Context, j engine.Job, action, resource string) error {
	return s.roleAllows(ctx, j, action, resource)
}

// roleAllows checks that the job's role allows sluice:ACTION on resource.
func (s *Service) roleAllows(ctx context.Context, j engine.Job, action, resource string) error {
	role, err := s.jobRole(ctx, j)
	if err != nil {
		return err
	}
	policy, err := s.RolePolicy(ctx, role)
	if err != nil {
		return Errorf(CodeForbidden, "%s: %s", resource, ErrorMessage(err))
	}
	if ok, why := iam.Evaluate(policy, iam.Prefix+action, resource); !ok {
		shown := role
		if shown == "" {
			shown = iam.PolicyDefaultPipeline
		}
		return Errorf(CodeForbidden, "role %s of %s does not allow sluice:%s on %s (%s)",
			shown, jobOwner(j), action, resource, why)
	}
	return nil
}
