package service

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Git host connections reach the worker of a connection source action
// (CodeStarSourceConnection, CodeConnections, GitHub version 1) through
// JobGitConnection. The server resolves which connection from the job's own
// configuration, so a job cannot ask for another: ConnectionArn matched
// against every git host connection's arns (or an ARN ending in
// connection/NAME); for GitHub, its Connection, or the secret its
// OAuthToken names. The token's secret is read only when the job's role
// allows sluice:GetSecretValue on it.

// JobGitConnection gives the worker holding a connection source job the git
// host connection its configuration names, with the token.
func (s *Service) JobGitConnection(ctx context.Context, jobID, worker string) (hostconn.Settings, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return hostconn.Settings{}, err
	}
	return s.gitConnection(ctx, j)
}

// ActionGitConnection is JobGitConnection for the server's own use on
// behalf of an action (polling its branch): the same connection, under the
// same role checks, the action's jobs would get. Also returned is whether
// the connection takes webhooks (it has a webhookSecret), in which case the
// host's pushes start the pipeline and the branch need not be polled.
func (s *Service) ActionGitConnection(ctx context.Context, pipelineName, stage, action string) (hostconn.Settings, bool, error) {
	info, err := s.Pipeline(ctx, pipelineName)
	if err != nil {
		return hostconn.Settings{}, false, err
	}
	for _, st := range info.Declaration.Stages {
		for _, a := range st.Actions {
			if st.Name == stage && a.Name == action {
				j := engine.Job{ID: "poll", Pipeline: pipelineName, Stage: stage, Action: action, ActionType: a.ActionTypeID, Configuration: a.Configuration}
				c, err := s.resolveGitConnection(ctx, j)
				if err != nil {
					return hostconn.Settings{}, false, err
				}
				settings, err := s.gitConnectionToken(ctx, j, c)
				return settings, c != nil && c.WebhookSecret != "", err
			}
		}
	}
	return hostconn.Settings{}, false, Errorf(CodeNotFound, "pipeline %s has no action %s in stage %s", pipelineName, action, stage)
}

func (s *Service) gitConnection(ctx context.Context, j engine.Job) (hostconn.Settings, error) {
	c, err := s.resolveGitConnection(ctx, j)
	if err != nil {
		return hostconn.Settings{}, err
	}
	return s.gitConnectionToken(ctx, j, c)
}

// resolveGitConnection finds the connection a job's configuration names;
// nil (and no error) for a GitHub action whose OAuthToken names a secret.
func (s *Service) resolveGitConnection(ctx context.Context, j engine.Job) (*connection.Connection, error) {
	cfg := j.Configuration
	switch p := j.ActionType.Provider; {
	case !pipeline.IsHostSource(p):
		return nil, Errorf(CodeInvalid, "job %s (provider %s) reads no git host", j.ID, p)
	case p == pipeline.ProviderGitHub:
		name := cfg[pipeline.ConfigConnection]
		if name == "" {
			return nil, nil
		}
		info, err := s.Connection(ctx, name)
		if err != nil {
			return nil, err
		}
		c := info.Connection
		if !c.IsGitHost() {
			return nil, Errorf(CodeInvalid, "configuration Connection: connection %s is kind %s, not a git host (%s)", name, c.Kind, strings.Join(connection.GitHostKinds, ", "))
		}
		return &c, nil
	}
	arn := strings.TrimSpace(cfg["ConnectionArn"])
	if err := pipeline.CheckConnectionARN(arn); err != nil {
		return nil, Errorf(CodeInvalid, "configuration ConnectionArn: %v", err)
	}
	all, err := s.Connections(ctx)
	if err != nil {
		return nil, err
	}
	var hosts, others []string
	var found *connection.Connection
	for _, info := range all {
		c := info.Connection
		if !c.MatchesARN(arn) {
			continue
		}
		if !c.IsGitHost() {
			others = append(others, c.Name+" (kind "+c.Kind+")")
			continue
		}
		hosts = append(hosts, c.Name)
		found = &c
	}
	switch {
	case len(hosts) == 1:
		return found, nil
	case len(hosts) > 1:
		return nil, Errorf(CodeInvalid, "configuration ConnectionArn %s names several git host connections (%s); keep it in the arns of one", arn, strings.Join(hosts, ", "))
	case len(others) > 0:
		return nil, Errorf(CodeInvalid, "configuration ConnectionArn %s names %s, which is not a git host connection", arn, strings.Join(others, ", "))
	}
	id, _ := pipeline.ConnectionARNID(arn)
	return nil, Errorf(CodeNotFound, "configuration ConnectionArn %s names no connection: add it to the arns: of a git host connection (sluice connection apply), or name that connection %s", arn, id)
}

// gitConnectionToken reads c's token (or, for c nil, the secret a GitHub
// action's OAuthToken names), as the job's role allows.
func (s *Service) gitConnectionToken(ctx context.Context, j engine.Job, c *connection.Connection) (hostconn.Settings, error) {
	var out hostconn.Settings
	secret, key := "", ""
	what := ""
	if c == nil {
		var err error
		if secret, key, err = pipeline.OAuthTokenSecret(j.Configuration["OAuthToken"]); err != nil {
			return out, Errorf(CodeInvalid, "configuration OAuthToken %v", err)
		}
		out = hostconn.Settings{Kind: hostconn.GitHub, URL: "https://github.com"}
		what = "configuration OAuthToken"
	} else if c.App != nil {
		// A GitHub App: the job's role must allow the app's key, from
		// which the server mints an installation token; the key itself
		// never leaves the server.
		if err := s.roleAllows(ctx, j, "GetSecretValue", "secret/"+c.App.PrivateKeySecret); err != nil {
			return hostconn.Settings{}, Errorf(CodeForbidden, "connection %s: %s", c.Name, ErrorMessage(err))
		}
		tok, err := c.HostToken(ctx, s, nil, s.now())
		if err != nil {
			return hostconn.Settings{}, Errorf(CodeInvalid, "%v", err)
		}
		return hostconn.Settings{Name: c.Name, Kind: c.Kind, URL: c.HostURL(), Token: string(tok)}, nil
	} else {
		secret = c.Token
		out = hostconn.Settings{Name: c.Name, Kind: c.Kind, URL: c.HostURL()}
		what = "connection " + c.Name
	}
	if err := s.roleAllows(ctx, j, "GetSecretValue", "secret/"+secret); err != nil {
		return hostconn.Settings{}, Errorf(CodeForbidden, "%s: %s", what, ErrorMessage(err))
	}
	value, err := s.secretValue(ctx, secret)
	if err != nil {
		return hostconn.Settings{}, Errorf(ErrorCode(err), "%s: %s", what, ErrorMessage(err))
	}
	token := strings.TrimSpace(string(value))
	if key != "" {
		var fields map[string]any
		v, ok := "", false
		if json.Unmarshal(value, &fields) == nil {
			v, ok = fields[key].(string)
		}
		if !ok {
			return hostconn.Settings{}, Errorf(CodeInvalid, "%s: secret %s holds no JSON string under key %s", what, secret, key)
		}
		token = strings.TrimSpace(v)
	}
	if token == "" {
		return hostconn.Settings{}, Errorf(CodeInvalid, "%s: secret %s is empty", what, secret)
	}
	out.Token = token
	return out, nil
}
