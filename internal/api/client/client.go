// Package client is the Go client of sluice's HTTP API, used by the CLI and by
// workers, in-process and remote alike. The bodies it sends and reads are
// package wire's.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/wire"

	"github.com/sluice-ci/sluice/internal/errcode"
)

// Error is an error answered by the server: the code and message of its body
// and the HTTP status, which the worker needs to tell a proxy's 502 from a
// refusal. errcode.Of reads its code.
type Error struct {
	Status  int
	Code    errcode.Code // "" when the body carried none
	Message string
}

func (e *Error) Error() string { return e.Message }

// ErrorCode implements errcode.Coder: the body's code, or the one its status
// is answered with when the body carried none (a proxy's error page).
func (e *Error) ErrorCode() errcode.Code {
	if e.Code != "" {
		return e.Code
	}
	return errcode.FromHTTPStatus(e.Status)
}

// IsCode reports whether err is a server error with code.
func IsCode(err error, code errcode.Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Client talks to one sluice server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc. It should set
// no overall timeout: long polls and artifact transfers set their own
// deadlines through the context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithRootCAs makes the client trust the server certificates pool vouches
// for, such as a self-signed one (see LoadCAFile), in place of the system's.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *Client) {
		if t, ok := c.http.Transport.(*http.Transport); ok {
			t = t.Clone()
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			c.http = &http.Client{Transport: t}
		}
	}
}

// LoadCAFile reads PEM certificates to trust (sluice's --ca-cert, env
// SLUICE_CA_CERT), added to the system's roots: a self-signed server
// certificate, or the CA that signed it.
func LoadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// New returns a client of the server at base (e.g. http://127.0.0.1:8080).
func New(base, token string, opts ...Option) *Client {
	c := &Client{
		base:  strings.TrimRight(base, "/"),
		token: token,
		// No overall timeout: long polls and artifact transfers set their own
		// deadlines through the context.
		http: &http.Client{Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	resp, err := c.send(ctx, method, path, body, contentType)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns the response when its status is 2xx.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var eb wire.ErrorBody
	if json.Unmarshal(raw, &eb) != nil || eb.Message == "" {
		eb.Message = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	return nil, &Error{Status: resp.StatusCode, Code: eb.Code, Message: eb.Message}
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	return c.do(ctx, method, path, body, "application/json", out)
}

func esc(s string) string { return url.PathEscape(s) }

// ApplyPipeline sends a pipeline file as it is; the server parses and validates
// it, so errors name the file's own lines. With dryRun nothing is stored.
func (c *Client) ApplyPipeline(ctx context.Context, filename string, data []byte, dryRun bool) (wire.ApplyResult, error) {
	var out wire.ApplyResult
	q := url.Values{"filename": {filename}}
	if dryRun {
		q.Set("dryRun", "true")
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/pipelines?"+q.Encode(), bytes.NewReader(data), "application/octet-stream", &out)
	return out, err
}

// Pipelines lists pipelines.
func (c *Client) Pipelines(ctx context.Context) ([]wire.PipelineSummary, error) {
	var out struct {
		Pipelines []wire.PipelineSummary `json:"pipelines"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/pipelines", nil, &out)
	return out.Pipelines, err
}

// PipelinePage lists one page of at most maxResults pipelines (0: the
// server's default of 100), starting at nextToken ("" for the first page);
// it returns the token of the next page, "" after the last.
func (c *Client) PipelinePage(ctx context.Context, maxResults int, nextToken string) ([]wire.PipelineSummary, string, error) {
	var out struct {
		Pipelines []wire.PipelineSummary `json:"pipelines"`
		NextToken string                 `json:"nextToken"`
	}
	q := url.Values{"nextToken": {nextToken}}
	if maxResults != 0 {
		q.Set("maxResults", strconv.Itoa(maxResults))
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/pipelines?"+q.Encode(), nil, &out)
	return out.Pipelines, out.NextToken, err
}

// Pipeline returns a pipeline as CodePipeline's get-pipeline document.
func (c *Client) Pipeline(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(name), nil, &out)
	return out, err
}

// DeletePipeline deletes a pipeline.
func (c *Client) DeletePipeline(ctx context.Context, name string) error {
	return c.doJSON(ctx, http.MethodDelete, "/api/v1/pipelines/"+esc(name), nil, nil)
}

// Start starts an execution.
func (c *Client) Start(ctx context.Context, name string, req wire.StartRequest) (string, error) {
	var out wire.StartResult
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/executions", req, &out)
	return out.PipelineExecutionID, err
}

// Execution returns an execution. With wait > 0 the server answers once the
// execution changed after since, or wait passed.
func (c *Client) Execution(ctx context.Context, name, id string, since time.Time, wait time.Duration) (*wire.Execution, error) {
	path := "/api/v1/pipelines/" + esc(name) + "/executions/" + esc(id)
	if wait > 0 {
		path += "?" + url.Values{"since": {since.Format(time.RFC3339Nano)}, "wait": {wait.String()}}.Encode()
	}
	var out wire.Execution
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return &out, err
}

// Executions lists executions, newest first.
func (c *Client) Executions(ctx context.Context, name string, limit int) ([]wire.ExecutionSummary, error) {
	var out struct {
		Executions []wire.ExecutionSummary `json:"pipelineExecutionSummaries"`
	}
	path := "/api/v1/pipelines/" + esc(name) + "/executions?limit=" + strconv.Itoa(limit)
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return out.Executions, err
}

// Stop stops an execution.
func (c *Client) Stop(ctx context.Context, name, id string, req wire.StopRequest) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/executions/"+esc(id)+"/stop", req, nil)
}

// Retry retries a stage of an execution.
func (c *Client) Retry(ctx context.Context, name, id string, req wire.RetryRequest) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/executions/"+esc(id)+"/retry", req, nil)
}

// Rollback starts a rollback execution of a stage (RollbackStage) and
// returns its id.
func (c *Client) Rollback(ctx context.Context, name string, req wire.RollbackRequest) (string, error) {
	var out wire.StartResult
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/rollback", req, &out)
	return out.PipelineExecutionID, err
}

// RuleExecutions lists the rules' evaluations of one execution, or of the
// newest ones when id is "" (ListRuleExecutions).
func (c *Client) RuleExecutions(ctx context.Context, name, id string) ([]wire.RuleExecution, error) {
	var out wire.RuleExecutionList
	path := "/api/v1/pipelines/" + esc(name) + "/rule-executions"
	if id != "" {
		path += "?pipelineExecutionId=" + url.QueryEscape(id)
	}
	err := c.doJSON(ctx, http.MethodGet, path, nil, &out)
	return out.RuleExecutionDetails, err
}

// OverrideCondition ends a stage condition's evaluation as if it were met
// (OverrideStageCondition).
func (c *Client) OverrideCondition(ctx context.Context, name, id string, req wire.OverrideConditionRequest) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/executions/"+esc(id)+"/override-condition", req, nil)
}

// State returns the state of a pipeline's stages.
func (c *Client) State(ctx context.Context, name string) (*wire.PipelineState, error) {
	var out wire.PipelineState
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(name)+"/state", nil, &out)
	return &out, err
}

// SetTransition enables or disables a stage's inbound transition
// (EnableStageTransition, DisableStageTransition).
func (c *Client) SetTransition(ctx context.Context, name, stage string, req wire.TransitionRequest) error {
	verb := "disable"
	if req.Enabled {
		verb = "enable"
	}
	return c.doJSON(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(name)+"/transitions/"+esc(stage)+"/"+verb, req, nil)
}

// LogChunk is a piece of an action's log.
type LogChunk struct {
	Data       []byte
	NextOffset int64
	Done       bool // the action has ended: the log is complete
	Attempt    int
}

// Log reads an action's log from offset on; with wait > 0 the server holds the
// request until there is more or the action ends.
func (c *Client) Log(ctx context.Context, name, id, action string, offset int64, wait time.Duration) (LogChunk, error) {
	q := url.Values{"offset": {strconv.FormatInt(offset, 10)}}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	path := "/api/v1/pipelines/" + esc(name) + "/executions/" + esc(id) + "/logs/" + esc(action) + "?" + q.Encode()
	resp, err := c.send(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return LogChunk{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return LogChunk{}, err
	}
	chunk := LogChunk{Data: data, NextOffset: offset + int64(len(data)), Done: resp.Header.Get("X-Sluice-Log-Done") == "true"}
	chunk.Attempt, _ = strconv.Atoi(resp.Header.Get("X-Sluice-Attempt"))
	return chunk, nil
}

// FailedAttemptHeader on an artifact download names the failed attempt of its
// action that uploaded it.
const FailedAttemptHeader = "X-Sluice-Failed-Attempt"

// ArtifactStream is an artifact being downloaded.
type ArtifactStream struct {
	io.ReadCloser
	// FailedAttempt is the attempt of the action that uploaded the artifact
	// although it failed; 0 for an artifact of an action that succeeded.
	FailedAttempt int
}

// Artifact opens an artifact an execution produced, as a zip stream.
func (c *Client) Artifact(ctx context.Context, name, id, artifact string) (*ArtifactStream, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(name)+"/executions/"+esc(id)+"/artifacts/"+esc(artifact), nil, "")
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(resp.Header.Get(FailedAttemptHeader))
	return &ArtifactStream{ReadCloser: resp.Body, FailedAttempt: n}, nil
}

// Events lists events after a sequence number.
func (c *Client) Events(ctx context.Context, pipeline string, after int64, limit int) ([]wire.Event, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	if pipeline != "" {
		q.Set("pipeline", pipeline)
	}
	var out struct {
		Events []wire.Event `json:"events"`
	}
	err := c.doJSON(ctx, http.MethodGet, "/api/v1/events?"+q.Encode(), nil, &out)
	return out.Events, err
}

// ClaimJob polls for a job; it returns nil when none came within the wait.
func (c *Client) ClaimJob(ctx context.Context, req wire.ClaimRequest) (*wire.Job, error) {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/jobs/claim", jsonBody(req), "application/json")
	return jobAnswer(resp, err, "claim job")
}

// jobAnswer is the job a claim's answer gives, nil for 204 No Content.
func jobAnswer(resp *http.Response, err error, what string) (*wire.Job, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var j wire.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return nil, fmt.Errorf("%s: decode the job: %w", what, err)
	}
	return &j, nil
}

// Heartbeat renews a job's lease and waits up to wait, answering early when the
// job is taken away. A Conflict error means the job must be stopped.
func (c *Client) Heartbeat(ctx context.Context, jobID, worker string, wait time.Duration) (wire.HeartbeatResult, error) {
	var out wire.HeartbeatResult
	req := wire.HeartbeatRequest{WorkerID: worker, WaitSeconds: wait.Seconds()}
	err := c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/heartbeat", req, &out)
	return out, err
}

// CompleteJob reports a job's result.
func (c *Client) CompleteJob(ctx context.Context, jobID string, res wire.JobResult) error {
	return c.doJSON(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/result", res, nil)
}

// CompleteJobAndClaim reports a job's result and, in the same request,
// claims the worker's next job of providers without waiting (see
// wire.NextParam): nil when none is queued, or when the server is one that
// ignores the request for it.
func (c *Client) CompleteJobAndClaim(ctx context.Context, jobID string, res wire.JobResult, providers []string) (*wire.Job, error) {
	path := "/api/v1/jobs/" + esc(jobID) + "/result?" + wire.NextParam + "=" + url.QueryEscape(strings.Join(providers, ","))
	resp, err := c.send(ctx, http.MethodPost, path, jsonBody(res), "application/json")
	return jobAnswer(resp, err, "report job result and claim the next job")
}

// AppendLog appends to a job's log.
func (c *Client) AppendLog(ctx context.Context, jobID, worker string, data []byte) error {
	return c.do(ctx, http.MethodPost, "/api/v1/jobs/"+esc(jobID)+"/log?workerId="+url.QueryEscape(worker), bytes.NewReader(data), "application/octet-stream", nil)
}

// JobInput opens an input artifact of a job.
func (c *Client) JobInput(ctx context.Context, jobID, worker, name string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/api/v1/jobs/"+esc(jobID)+"/inputs/"+esc(name)+"?workerId="+url.QueryEscape(worker), nil, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// PutJobOutput uploads an output artifact of a job.
func (c *Client) PutJobOutput(ctx context.Context, jobID, worker, name string, body io.Reader) error {
	return c.do(ctx, http.MethodPut, "/api/v1/jobs/"+esc(jobID)+"/outputs/"+esc(name)+"?workerId="+url.QueryEscape(worker), body, "application/zip", nil)
}

func jsonBody(v any) io.Reader {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err) // only API types are passed, which always marshal
	}
	return bytes.NewReader(raw)
}

// CloseIdleConnections closes connections kept for reuse.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
