// Package metric is sluice's Metric rule of stage conditions, for teams that
// watch their services with Prometheus rather than CloudWatch: it evaluates a
// PromQL query with a Prometheus-compatible endpoint's HTTP API
// (GET /api/v1/query) and passes when the value compares with the threshold
// as the rule's Operator says (every series of a vector must), re-querying
// for up to WaitTime minutes until it does.
package metric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/provider"
)

// DefaultPollInterval is how often the query is evaluated while the rule waits.
const DefaultPollInterval = 15 * time.Second

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// Provider runs Metric rules.
type Provider struct {
	// PollInterval is how often the query is evaluated while waiting; 0
	// means DefaultPollInterval. Tests shorten it.
	PollInterval time.Duration
	// Client makes the requests; nil is a client with a 30-second timeout.
	Client *http.Client
}

// Run implements provider.Provider.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	endpoint, query, op := cfg["Endpoint"], cfg["Query"], cfg["Operator"]
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return provider.Result{}, fmt.Errorf("Endpoint %q is not an http:// or https:// URL", endpoint)
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and summaries.
		return provider.Result{}, errors.New("Endpoint must not hold credentials")
	}
	threshold, err := strconv.ParseFloat(cfg["Threshold"], 64)
	if err != nil {
		return provider.Result{}, fmt.Errorf("Threshold %q is not a number", cfg["Threshold"])
	}
	if _, ok := compare(op, 0, 0); !ok {
		return provider.Result{}, fmt.Errorf("Operator %q is not GT, GE, LT, LE, EQ or NE", op)
	}
	wait, err := provider.WaitTime(cfg)
	if err != nil {
		return provider.Result{}, err
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	interval := p.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	target := strings.TrimRight(endpoint, "/") + "/api/v1/query?" + url.Values{"query": {query}}.Encode()
	deadline := time.Now().Add(wait)
	for {
		values, err := evaluate(ctx, client, target)
		if err != nil {
			return provider.Result{}, fmt.Errorf("query %s: %w", query, err)
		}
		verdict, ok := judge(values, op, threshold)
		fmt.Fprintf(job.Log, "%s = %s: %s\n", query, formatValues(values), verdict)
		if ok {
			return provider.Result{Summary: fmt.Sprintf("%s = %s: %s", query, formatValues(values), verdict)}, nil
		}
		if !time.Now().Before(deadline) {
			msg := fmt.Sprintf("%s = %s: %s", query, formatValues(values), verdict)
			if wait > 0 {
				msg += fmt.Sprintf(" after waiting %s", wait)
			}
			return provider.Result{}, provider.RuleFailed(errors.New(msg))
		}
		t := time.NewTimer(min(interval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return provider.Result{}, ctx.Err()
		case <-t.C:
		}
	}
}

// response is the part of Prometheus's /api/v1/query answer the rule reads.
type response struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// evaluate runs the query and returns its values: one for a scalar, one per
// series for a vector.
func evaluate(ctx context.Context, client *http.Client, target string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the endpoint did not answer: %w", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	var r response
	// The answer's body is never shown: the endpoint may be anything a
	// pipeline author names, and its pages are not theirs to read this way.
	if err := json.Unmarshal(body, &r); err != nil || r.Status == "" {
		return nil, fmt.Errorf("the endpoint answered %d with something that is not a Prometheus query result", resp.StatusCode)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "scalar":
		var sample [2]any
		if err := json.Unmarshal(r.Data.Result, &sample); err != nil {
			return nil, errors.New("malformed scalar result")
		}
		v, err := sampleValue(sample)
		if err != nil {
			return nil, err
		}
		return []float64{v}, nil
	case "vector":
		var series []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return nil, errors.New("malformed vector result")
		}
		if len(series) == 0 {
			return nil, errors.New("no data: the query returned no series")
		}
		out := make([]float64, len(series))
		for i, s := range series {
			v, err := sampleValue(s.Value)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s result cannot be compared with a threshold; make the query return a scalar or an instant vector", r.Data.ResultType)
}

// sampleValue reads a sample's value, which Prometheus writes as a string.
func sampleValue(s [2]any) (float64, error) {
	str, ok := s[1].(string)
	if !ok {
		return 0, errors.New("malformed sample")
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q is not a number", str)
	}
	return v, nil
}

func compare(op string, v, threshold float64) (bool, bool) {
	switch op {
	case "GT":
		return v > threshold, true
	case "GE":
		return v >= threshold, true
	case "LT":
		return v < threshold, true
	case "LE":
		return v <= threshold, true
	case "EQ":
		return v == threshold, true
	case "NE":
		return v != threshold, true
	}
	return false, false
}

// judge says whether every value compares with the threshold as op says.
func judge(values []float64, op string, threshold float64) (string, bool) {
	th := strconv.FormatFloat(threshold, 'g', -1, 64)
	for _, v := range values {
		if ok, _ := compare(op, v, threshold); !ok || math.IsNaN(v) {
			return fmt.Sprintf("%s %s %s does not hold", strconv.FormatFloat(v, 'g', -1, 64), op, th), false
		}
	}
	return fmt.Sprintf("%s %s holds", op, th), true
}

func formatValues(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, " ") + "]"
}
