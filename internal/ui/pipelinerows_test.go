package ui

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
)

// pipelineRowTemplate is how the pipelines table's rows were drawn with
// html/template before pipelineRows: the reference its output is held to.
const pipelineRowTemplate = `{{define "trigger"}}<span class="trigger">{{.Type}}</span>{{if .Detail}} <span class="trigger-detail">{{.Detail}}</span>{{end}}{{end}}` +
	`{{define "rows"}}{{range .P.Pipelines}}
    <tr data-name="{{.Name}}">
      <th scope="row">{{if $.Perm.On "GetPipelineState" .Name}}<a href="{{path "/ui/pipelines" .Name}}">{{.Name}}</a>{{else}}{{.Name}}{{end}} <span class="small">v{{.Version}} · {{.Mode}}</span></th>
      {{$w := .Wait}}{{with .Latest}}
      <td>{{status .Status}} {{if $.Perm.On "GetPipelineExecution" .Pipeline}}<a href="{{path "/ui/pipelines" .Pipeline "executions" .ID}}" class="small"><code>{{short .ID}}</code></a>{{end}}{{if $w.Kind}}<div class="small waitfor" data-wait="{{$w.Kind}}" title="{{$w.Long}}"><span aria-hidden="true">‖</span> {{$w.Short}}</div>{{end}}</td>
      <td>{{template "trigger" .Trigger}}</td>
      <td><time datetime="{{iso .StartTime}}" title="{{ts .StartTime}}">{{ago .StartTime}}</time></td>
      <td>{{dur .StartTime (ended .)}}</td>
      {{else}}
      <td>{{status ""}}</td><td></td><td></td><td></td>
      {{end}}
      <td>{{.Stages}}</td>
    </tr>
  {{end}}{{end}}`

// pipelineRows draws what the template drew, byte for byte (but for "+",
// which html/template alone escapes, as &#43;), for rows of every kind and
// for values that try to break out of text, attributes and URLs.
func TestPipelineRowsAsTemplate(t *testing.T) {
	ref := template.Must(template.New("ref").Funcs(funcs).Parse(pipelineRowTemplate))
	now := time.Now().UTC()
	hostile := `x"><script>alert('+1')</script>&amp;`
	rows := []pipelineRow{
		{Name: "never-ran", Mode: "SUPERSEDED", Version: 1, Stages: 2},
		{Name: "ok", Mode: "PARALLEL", Version: 12, Stages: 3, Latest: &engine.Execution{
			ID: "0123456789abcdef", Pipeline: "ok", Status: engine.ExecutionSucceeded,
			Trigger:   engine.Trigger{Type: "Webhook", Detail: "push " + hostile},
			StartTime: now.Add(-3*time.Hour - 20*time.Minute), LastUpdate: now.Add(-3 * time.Hour),
		}},
		{Name: "waits", Mode: "QUEUED", Version: 2, Stages: 4, Latest: &engine.Execution{
			ID: "e-" + hostile, Pipeline: "waits", Status: engine.ExecutionInProgress,
			Trigger:   engine.Trigger{Type: "StartPipelineExecution"},
			StartTime: now.Add(-2 * time.Hour),
		}, Wait: waitInfo{Kind: "lock", Short: "lock " + hostile, Long: `waiting for lock "prod" ` + hostile}},
		{Name: hostile, Mode: hostile, Version: 3, Stages: 1, Latest: &engine.Execution{
			ID: "short", Pipeline: hostile, Status: engine.ExecutionStatus(hostile),
			Trigger:   engine.Trigger{Type: hostile, Detail: hostile},
			StartTime: now.Add(-50 * time.Hour), LastUpdate: now.Add(-49 * time.Hour),
		}},
		{Name: "failed", Mode: "SUPERSEDED", Version: 1, Stages: 1, Latest: &engine.Execution{
			ID: "f", Pipeline: "failed", Status: engine.ExecutionFailed, Trigger: engine.Trigger{Type: "PipelineTrigger", Detail: "up/1"},
			StartTime: now.Add(-90 * time.Minute), LastUpdate: now.Add(-89 * time.Minute),
		}},
		{Name: "stopped", Mode: "SUPERSEDED", Version: 1, Stages: 1, Latest: &engine.Execution{
			ID: "s", Pipeline: "stopped", Status: engine.ExecutionStopped, Trigger: engine.Trigger{Type: "CloudWatchEvent"},
		}},
	}
	// Viewers who may see everything, nothing, or some of it.
	for name, perm := range map[string]*permissions{
		"all":  {cache: allowAll(rows, true)},
		"none": {cache: allowAll(rows, false)},
		"some": {cache: map[string]bool{
			"GetPipelineState\x00pipeline/ok": true, "GetPipelineExecution\x00pipeline/ok": true,
			"GetPipelineState\x00pipeline/waits": true, "GetPipelineExecution\x00pipeline/" + hostile: true,
		}},
	} {
		var want strings.Builder
		data := map[string]any{"Perm": perm, "P": map[string]any{"Pipelines": rows}}
		if err := ref.ExecuteTemplate(&want, "rows", data); err != nil {
			t.Fatal(err)
		}
		got := string(pipelineRows(rows, perm))
		if w := strings.ReplaceAll(want.String(), "&#43;", "+"); got != w {
			t.Errorf("%s: pipelineRows drew\n%s\nthe template\n%s", name, got, w)
		}
		if strings.Contains(got, "<script") || strings.Contains(got, `x">`) {
			t.Errorf("%s: a value broke out of its place:\n%s", name, got)
		}
	}
}

// allowAll answers every question the rows ask with ok.
func allowAll(rows []pipelineRow, ok bool) map[string]bool {
	m := map[string]bool{}
	for _, r := range rows {
		for _, a := range []string{actGetPipelineState, actGetPipelineExecution} {
			m[a+"\x00pipeline/"+r.Name] = ok
		}
	}
	return m
}
