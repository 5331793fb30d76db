package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/wire"
)

func TestGraph(t *testing.T) {
	ctx := context.Background()
	st, svc := newService(t)
	for _, tok := range []store.Token{
		{Name: "reader", Hash: auth.HashToken("read-token"), Policy: iam.PolicyRead},
		{Name: "worker", Hash: auth.HashToken("worker-token"), Policy: iam.PolicyWorker},
	} {
		if err := st.PutToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []string{
		"name: infra\nstages: [{name: Apply, actions: [{name: tf, provider: Noop}]}]\n",
		`name: k8s
triggers: [{providerType: Pipeline, pipeline: {name: infra}}]
stages:
  - name: Deploy
    lock: deploy
    actions: [{name: Wait, provider: PipelineGate, configuration: {PipelineName: infra}}]
`,
	} {
		p, err := pipeline.Parse("p.yml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ApplyPipeline(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(svc, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)

	get := func(token, query string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/graph"+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}

	for _, tc := range []struct {
		name, token, query string
		status             int
		contentType        string
		contains           []string
	}{
		{"json by default, for a read-only token", "read-token", "", 200, "application/json",
			[]string{`"from":"infra"`, `"kind":"gate"`, `"detail":"Deploy/Wait: Succeeded"`, `"name":"lock:deploy"`}},
		{"text", "read-token", "?format=text", 200, "text/plain; charset=utf-8",
			[]string{"k8s\n  waits for infra (gate Deploy/Wait: Succeeded)\n  started by infra (trigger on Succeeded)\n  uses lock deploy (stage Deploy)\n"}},
		{"dot", "read-token", "?format=dot", 200, "text/vnd.graphviz; charset=utf-8",
			[]string{"digraph sluice {", `"infra" -> "k8s" [label="trigger on Succeeded", style=dashed];`}},
		{"an unknown format", "read-token", "?format=svg", 400, "application/json",
			[]string{`"code":"Invalid"`, `format: unknown format \"svg\" (json, text or dot)`}},
		{"a worker token may not", "worker-token", "", 403, "application/json", []string{`"code":"Forbidden"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ct, body := get(tc.token, tc.query)
			if status != tc.status || ct != tc.contentType {
				t.Fatalf("GET /api/v1/graph%s = %d %s, want %d %s\n%s", tc.query, status, ct, tc.status, tc.contentType, body)
			}
			for _, want := range tc.contains {
				if !strings.Contains(body, want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}

	// The JSON decodes into the client's types, every node and edge there.
	_, _, body := get("read-token", "?format=json")
	var g wire.Graph
	if err := json.Unmarshal([]byte(body), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 3 || len(g.Edges) != 3 {
		t.Errorf("graph = %+v, want 3 nodes (infra, k8s, lock:deploy) and 3 edges", g)
	}
	for _, n := range g.Nodes {
		if n.Status != "" || n.Missing {
			t.Errorf("node %+v: want no status and not missing", n)
		}
	}
}
