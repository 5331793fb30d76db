package client

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/sluice-ci/sluice/internal/wire"
	"io"
	"net/http"
	"net/url"

	"github.com/sluice-ci/sluice/internal/report"
)

// PutJobReport sends a test report of a job.
func (c *Client) PutJobReport(ctx context.Context, jobID, worker, group string, r *report.Report) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPut, "/api/v1/jobs/"+esc(jobID)+"/reports/"+esc(group)+"?workerId="+url.QueryEscape(worker),
		bytes.NewReader(raw), "application/json", nil)
}

// Reports lists an execution's test reports, of one action when action is set.
func (c *Client) Reports(ctx context.Context, name, id, action string) ([]wire.ActionReport, error) {
	var out struct {
		Reports []wire.ActionReport `json:"reports"`
	}
	path := "/api/v1/pipelines/" + esc(name) + "/executions/" + esc(id) + "/reports"
	if action != "" {
		path += "?" + url.Values{"action": {action}}.Encode()
	}
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return out.Reports, err
}

// JobCache opens the build cache of a held build job's project; a NotFound
// error when there is none.
func (c *Client) JobCache(ctx context.Context, jobID, worker string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/jobs/"+esc(jobID)+"/cache?workerId="+url.QueryEscape(worker), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// PutJobCache replaces the build cache of a held build job's project.
func (c *Client) PutJobCache(ctx context.Context, jobID, worker string, body io.Reader) error {
	return c.do(ctx, http.MethodPut, "/api/v1/jobs/"+esc(jobID)+"/cache?workerId="+url.QueryEscape(worker), body, "application/zip", nil)
}
