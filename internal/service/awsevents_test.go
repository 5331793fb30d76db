package service_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/eventpattern"
	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/store"
)

const sourceThenDeploy = `
name: myPipeline
stages:
  - name: Source
    actions:
      - name: Source
        provider: Commands
        commands: [true]
        outputArtifacts: [SourceArtifact]
  - name: Deploy
    actions:
      - name: Deploy
        provider: Commands
        commands: [deploy]
        inputArtifacts: [SourceArtifact]
`

// awsEvents runs myPipeline to a failure in its Deploy stage on a server
// that speaks for account 123456789012 in us-west-2, and returns its events
// as JSON, as rules and the API see them.
func awsEvents(t *testing.T) []map[string]any {
	t.Helper()
	st, arts := servicetest.Stores(t)
	c := servicetest.NewClock()
	id, err := awsid.New("us-west-2", "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(st, arts, service.Config{Lease: 30 * time.Second, Now: c.Now, AWS: id, BaseURL: "http://127.0.0.1:8080"})
	f := &fixture{t: t, ctx: t.Context(), svc: svc, store: st, clock: c}
	f.apply(sourceThenDeploy)
	if _, err := svc.StartExecution(f.ctx, service.StartRequest{Pipeline: "myPipeline", Trigger: service.Trigger{Type: "StartPipelineExecution", Detail: "alice"}}); err != nil {
		t.Fatal(err)
	}
	j := f.claim("w1")
	if _, err := svc.PutOutput(f.ctx, j.Job.ID, j.Worker, "SourceArtifact", strings.NewReader("zip")); err != nil {
		t.Fatal(err)
	}
	if err := svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Succeeded: true, Summary: "Added LICENSE.txt"}); err != nil {
		t.Fatal(err)
	}
	j = f.claim("w1")
	if err := svc.CompleteJob(f.ctx, j.Job.ID, j.Worker, service.JobResult{Message: "deploy exited with status 1"}); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Events(f.ctx, store.EventFilter{Pipeline: "myPipeline"})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func find(t *testing.T, evs []map[string]any, detailType, stage, state string) map[string]any {
	t.Helper()
	for _, ev := range evs {
		d := ev["detail"].(map[string]any)
		if ev["detail-type"] == detailType && (stage == "" || d["stage"] == stage) && d["state"] == state {
			return ev
		}
	}
	t.Fatalf("no %s %s %s event among %d", detailType, stage, state, len(evs))
	return nil
}

// TestEventsHaveCodePipelinesShape compares sluice's events with the samples
// of AWS's documentation: every field a sample has, at every level, sluice's
// event has too, with the same JSON type (CodePipeline itself writes
// "version" as a number in some samples and a string in others; those are
// not compared).
func TestEventsHaveCodePipelinesShape(t *testing.T) {
	raw, err := os.ReadFile("testdata/codepipeline-events.json")
	if err != nil {
		t.Fatal(err)
	}
	var samples map[string]json.RawMessage
	if err := json.Unmarshal(raw, &samples); err != nil {
		t.Fatal(err)
	}
	sample := func(name string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(samples[name], &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	evs := awsEvents(t)
	for _, c := range []struct {
		sample                   string
		detailType, stage, state string
	}{
		{"pipeline-started", engine.PipelineEvent, "", "STARTED"},
		{"pipeline-failed", engine.PipelineEvent, "", "FAILED"},
		{"stage-started", engine.StageEvent, "Deploy", "STARTED"},
		{"action-started", engine.ActionEvent, "Deploy", "STARTED"},
		{"action-succeeded", engine.ActionEvent, "Source", "SUCCEEDED"},
		{"action-failed", engine.ActionEvent, "Deploy", "FAILED"},
	} {
		got := find(t, evs, c.detailType, c.stage, c.state)
		sameShape(t, c.sample, "", sample(c.sample), got)
	}

	ev := find(t, evs, engine.ActionEvent, "Deploy", "FAILED")
	if ev["source"] != "aws.codepipeline" || ev["account"] != "123456789012" || ev["region"] != "us-west-2" || ev["version"] != "0" ||
		ev["resources"].([]any)[0] != "arn:aws:codepipeline:us-west-2:123456789012:myPipeline" {
		t.Errorf("envelope: %v", ev)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(ev["id"].(string)) {
		t.Errorf("id %v is not a UUID", ev["id"])
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(ev["time"].(string)) {
		t.Errorf("time %v is not written as EventBridge writes it", ev["time"])
	}
	d := ev["detail"].(map[string]any)
	res := d["execution-result"].(map[string]any)
	if res["error-code"] != "JobFailed" || res["external-execution-summary"] != "deploy exited with status 1" ||
		!strings.HasPrefix(res["external-execution-url"].(string), "http://127.0.0.1:8080/ui/pipelines/myPipeline/executions/") {
		t.Errorf("execution-result %v", res)
	}
	if d["sluice"].(map[string]any)["job-id"] != res["external-execution-id"] {
		t.Errorf("external-execution-id %v is not the job %v", res["external-execution-id"], d["sluice"])
	}
	// The artifact the Source action wrote is where Deploy's STARTED event
	// says it is read from.
	out := find(t, evs, engine.ActionEvent, "Source", "SUCCEEDED")["detail"].(map[string]any)["output-artifacts"].([]any)[0].(map[string]any)
	in := find(t, evs, engine.ActionEvent, "Deploy", "STARTED")["detail"].(map[string]any)["input-artifacts"].([]any)[0].(map[string]any)
	if out["name"] != "SourceArtifact" || in["name"] != "SourceArtifact" || !mapsEqual(out["s3location"], in["s3location"]) {
		t.Errorf("output %v, input %v", out, in)
	}
	loc := in["s3location"].(map[string]any)
	if loc["bucket"] != service.DiskArtifactBucket || !strings.HasSuffix(loc["key"].(string), ".zip") || !strings.Contains(loc["key"].(string), "/SourceArtifact/") {
		t.Errorf("s3location %v", loc)
	}
	if tr := find(t, evs, engine.PipelineEvent, "", "STARTED")["detail"].(map[string]any)["execution-trigger"]; !mapsEqual(tr, map[string]any{
		"trigger-type": "StartPipelineExecution", "trigger-detail": "arn:aws:iam::123456789012:user/alice"}) {
		t.Errorf("execution-trigger %v", tr)
	}
	// execution-trigger on the pipeline's STARTED only, as CodePipeline.
	for _, ev := range evs {
		d := ev["detail"].(map[string]any)
		_, has := d["execution-trigger"]
		if want := ev["detail-type"] == engine.PipelineEvent && d["state"] == "STARTED"; has != want {
			t.Errorf("%s %s: execution-trigger %v", ev["detail-type"], d["state"], d["execution-trigger"])
		}
		if d["pipeline-execution-attempt"] != 1.0 {
			t.Errorf("%s %s: pipeline-execution-attempt %v", ev["detail-type"], d["state"], d["pipeline-execution-attempt"])
		}
	}
}

func mapsEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func sameShape(t *testing.T, sample, path string, want, got map[string]any) {
	t.Helper()
	for k, wv := range want {
		p := strings.TrimPrefix(path+"."+k, ".")
		gv, ok := got[k]
		if !ok {
			t.Errorf("%s: sluice's event has no %s (the sample has %v)", sample, p, wv)
			continue
		}
		if p == "detail.version" || p == "detail.type.version" {
			continue
		}
		switch w := wv.(type) {
		case map[string]any:
			g, ok := gv.(map[string]any)
			if !ok {
				t.Errorf("%s: %s is %T, the sample's an object", sample, p, gv)
				continue
			}
			sameShape(t, sample, p, w, g)
		case []any:
			g, ok := gv.([]any)
			if !ok || len(g) == 0 {
				t.Errorf("%s: %s is %v, the sample's a list of %d", sample, p, gv, len(w))
				continue
			}
			if wm, ok := w[0].(map[string]any); ok {
				gm, ok := g[0].(map[string]any)
				if !ok {
					t.Errorf("%s: %s[0] is %T", sample, p, g[0])
					continue
				}
				sameShape(t, sample, p+"[0]", wm, gm)
			}
		default:
			if jsonType(wv) != jsonType(gv) {
				t.Errorf("%s: %s is %T, the sample's %T", sample, p, gv, wv)
			}
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "other"
}

// TestPatternsWrittenForCodePipelineMatch applies rule patterns written for
// CodePipeline's events (the documentation's, and common ones from rules in
// the wild) to sluice's events.
func TestPatternsWrittenForCodePipelineMatch(t *testing.T) {
	evs := awsEvents(t)
	for _, c := range []struct {
		name, pattern string
		want          int // how many of the run's events match
	}{
		{"failed pipelines (the user guide's put-rule example)",
			`{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"pipeline":["myPipeline"],"state":["FAILED"]}}`, 1},
		{"failed deploy and build actions (the user guide's)",
			`{"source":["aws.codepipeline"],"detail-type":["CodePipeline Action Execution State Change"],"detail":{"state":["FAILED"],"type":{"category":["Deploy","Build","Compute"]}}}`, 1},
		{"error code",
			`{"source":["aws.codepipeline"],"detail":{"execution-result":{"error-code":["JobFailed"]}}}`, 1},
		{"every event of the pipeline (the user guide's)",
			`{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change","CodePipeline Action Execution State Change","CodePipeline Stage Execution State Change"],"detail":{"pipeline":["myPipeline","my2ndPipeline"]}}`, len(evs)},
		{"by resource ARN",
			`{"source":["aws.codepipeline"],"resources":["arn:aws:codepipeline:us-west-2:123456789012:myPipeline"],"detail":{"state":["SUCCEEDED"]}}`, 2},
		{"by account and region",
			`{"account":["123456789012"],"region":["us-west-2"],"detail-type":["CodePipeline Pipeline Execution State Change"]}`, 2},
		{"source artifacts in the artifact store",
			`{"detail":{"output-artifacts":{"name":["SourceArtifact"],"s3location":{"key":[{"suffix":".zip"}]}}}}`, 1},
		{"started by hand",
			`{"detail":{"execution-trigger":{"trigger-type":["StartPipelineExecution"]}}}`, 1},
		{"the legacy source still matches, through the alias",
			`{"source":["sluice.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"]}`, 2},
	} {
		r := &rule.Rule{Name: "r", EventPattern: json.RawMessage(c.pattern)}
		p, err := r.Pattern()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		n := 0
		for _, ev := range evs {
			raw, _ := json.Marshal(ev)
			m, err := eventpattern.DecodeEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			if p.Match(m) {
				n++
			}
		}
		if n != c.want {
			t.Errorf("%s: %d events match, want %d", c.name, n, c.want)
		}
	}
	if d := (&rule.Rule{Name: "r", EventPattern: json.RawMessage(`{"source":["sluice.codepipeline"]}`)}).Deprecations(); len(d) != 1 || !strings.Contains(d[0], `"aws.codepipeline"`) {
		t.Errorf("deprecations %v", d)
	}
	if d := (&rule.Rule{Name: "r", EventPattern: json.RawMessage(`{"source":["aws.codepipeline"]}`)}).Deprecations(); len(d) != 0 {
		t.Errorf("deprecations of a current pattern: %v", d)
	}
}
