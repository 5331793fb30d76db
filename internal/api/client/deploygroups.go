package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sluice-ci/sluice/internal/wire"
)

// ApplyDeployGroup sends a deployment group file as it is; the server parses it.
func (c *Client) ApplyDeployGroup(ctx context.Context, filename string, data []byte) (wire.DeployGroupApplyResult, error) {
	var out wire.DeployGroupApplyResult
	err := c.do(ctx, http.MethodPost, "/api/v1/deployment-groups?"+url.Values{"filename": {filename}}.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// DeployGroups lists deployment groups, of one application if app is not empty.
func (c *Client) DeployGroups(ctx context.Context, app string) ([]wire.DeployGroup, error) {
	var out struct {
		Groups []wire.DeployGroup `json:"deploymentGroups"`
	}
	p := "/api/v1/deployment-groups"
	if app != "" {
		p += "?" + url.Values{"application": {app}}.Encode()
	}
	err := c.doJSON(ctx, http.MethodGet, p, nil, &out)
	return out.Groups, err
}

// DeployGroup returns one deployment group.
func (c *Client) DeployGroup(ctx context.Context, app, name string) (wire.DeployGroup, error) {
	var out wire.DeployGroup
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/deployment-groups/"+esc(app)+"/"+esc(name), nil, &out)
	return out, err
}

// DeleteDeployGroup deletes a deployment group.
func (c *Client) DeleteDeployGroup(ctx context.Context, app, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/deployment-groups/"+esc(app)+"/"+esc(name), nil, nil)
}

// CreateDeployment deploys the revision (a zip) to a deployment group.
func (c *Client) CreateDeployment(ctx context.Context, app, group string, revision io.Reader) (wire.Deployment, error) {
	var out wire.Deployment
	err := c.do(ctx, http.MethodPost, "/api/v1/deployments?"+url.Values{"application": {app}, "group": {group}}.Encode(), revision, "application/zip", &out)
	return out, err
}

// Deployments lists deployments, newest first, of one application and group when given.
func (c *Client) Deployments(ctx context.Context, app, group string) ([]wire.Deployment, error) {
	var out struct {
		Deployments []wire.Deployment `json:"deployments"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/deployments?"+url.Values{"application": {app}, "group": {group}}.Encode(), nil, &out)
	return out.Deployments, err
}

// Deployment returns one deployment with its hosts' events and logs.
func (c *Client) Deployment(ctx context.Context, id string) (wire.Deployment, error) {
	var out wire.Deployment
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/deployments/"+esc(id), nil, &out)
	return out, err
}

// ClaimHostDeployment asks, as agent, for its next host deployment, waiting
// up to the request's waitSeconds; nil when there is none.
func (c *Client) ClaimHostDeployment(ctx context.Context, agent string, req wire.AgentClaim) (*wire.HostTask, error) {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/agents/"+esc(agent)+"/claim", jsonBody(req), "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var t wire.HostTask
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return nil, fmt.Errorf("claim deployment: decode answer: %w", err)
	}
	return &t, nil
}

// HostRevision opens the revision of agent's host deployment.
func (c *Client) HostRevision(ctx context.Context, agent, id string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/agents/"+esc(agent)+"/deployments/"+esc(id)+"/revision", nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// HostResult reports a host deployment's end, or renews its lease
// (res.Heartbeat); a Conflict error means it was taken away: stop.
func (c *Client) HostResult(ctx context.Context, agent, id string, res wire.HostResult) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/agents/"+esc(agent)+"/deployments/"+esc(id)+"/result", res, nil)
}

// Agents lists the registered deployment agents.
func (c *Client) Agents(ctx context.Context) ([]wire.Agent, error) {
	var out struct {
		Agents []wire.Agent `json:"agents"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/agents", nil, &out)
	return out.Agents, err
}

// RegisterAgent sets agent's pinned group and tags (an admin's call).
func (c *Client) RegisterAgent(ctx context.Context, agent string, req wire.AgentRegistration) (wire.Agent, error) {
	var out wire.Agent
	err := c.doJSON(ctx, http.MethodPut, "/api/v1/agents/"+esc(agent)+"/registration", req, &out)
	return out, err
}

// DeregisterAgent clears agent's registration: its next claim is trusted as a first one.
func (c *Client) DeregisterAgent(ctx context.Context, agent string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/agents/"+esc(agent)+"/registration", nil, nil)
}

// CreateJobDeployment deploys the revision for a CodeDeploy job the worker
// holds, to the group the job's configuration names.
func (c *Client) CreateJobDeployment(ctx context.Context, jobID, worker string, revision io.Reader) (wire.Deployment, error) {
	var out wire.Deployment
	err := c.do(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/deployments?workerId="+url.QueryEscape(worker), revision, "application/zip", &out)
	return out, err
}

// JobDeployment returns a deployment made for a job the worker holds.
func (c *Client) JobDeployment(ctx context.Context, jobID, worker, id string) (wire.Deployment, error) {
	var out wire.Deployment
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/jobs/"+esc(jobID)+"/deployments/"+esc(id)+"?workerId="+url.QueryEscape(worker), nil, &out)
	return out, err
}
