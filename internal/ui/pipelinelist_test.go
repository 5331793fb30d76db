package ui_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/wire"
)

// The pipelines list shows each pipeline's latest execution (by when it
// started, whatever its status), nothing for one that never ran, what an
// execution in progress waits for, and pages at 100 with the boundary
// where it belongs; the API's page of ListPipelines says the same.
func TestPipelineListLatestExecutions(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	// 100 pipelines fill the first page exactly; the ones under test sort
	// after them, on the second.
	for i := range 100 {
		ts.apply(fmt.Sprintf("name: p%03d\nstages: [{name: S, actions: [{name: a, provider: Noop}]}]\n", i))
	}
	check := "name: %s\nvariables: [{name: OK, defaultValue: \"yes\"}]\nstages:\n  - name: Run\n    actions:\n      - name: check\n        provider: Commands\n        commands: [\"test '#{variables.OK}' = yes\"]\n"
	for _, n := range []string{"z-never", "z-fixed", "z-broke"} {
		ts.apply(fmt.Sprintf(check, n))
	}
	ts.apply(strings.Replace(releasePipeline, "name: release", "name: z-held", 1))
	ts.apply(strings.Replace(releasePipeline, "name: release", "name: z-stopped", 1))

	run := func(name, ok string, want string) string {
		t.Helper()
		id, err := ts.api.Start(ctx, name, wire.StartRequest{Variables: map[string]string{"OK": ok}})
		if err != nil {
			t.Fatal(err)
		}
		ts.waitExecution(name, id, want, func(e *wire.Execution) bool { return e.Status == want })
		return id
	}
	latest := map[string]string{} // pipeline → id of its latest execution
	run("z-fixed", "no", "Failed")
	latest["z-fixed"] = run("z-fixed", "yes", "Succeeded")
	run("z-broke", "yes", "Succeeded")
	latest["z-broke"] = run("z-broke", "no", "Failed")
	heldID, err := ts.api.Start(ctx, "z-held", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("z-held", heldID, "the approval", func(e *wire.Execution) bool { return actionStatus(e, "Approve", "review") == "InProgress" })
	latest["z-held"] = heldID
	stopID, err := ts.api.Start(ctx, "z-stopped", wire.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("z-stopped", stopID, "the approval", func(e *wire.Execution) bool { return actionStatus(e, "Approve", "review") == "InProgress" })
	if err := ts.api.Stop(ctx, "z-stopped", stopID, wire.StopRequest{Abandon: true, Reason: "not today"}); err != nil {
		t.Fatal(err)
	}
	ts.waitExecution("z-stopped", stopID, "Stopped", func(e *wire.Execution) bool { return e.Status == "Stopped" })
	latest["z-stopped"] = stopID
	wantStatus := map[string]string{"z-never": "", "z-fixed": "Succeeded", "z-broke": "Failed", "z-held": "InProgress", "z-stopped": "Stopped"}

	b := newBrowserless(t, ts.url)
	b.signIn(ts.admin)
	newestBefore := newestEvent(t, ts)
	_, first := b.get("/ui/pipelines")
	// The page's stream starts after the newest event written before the
	// page was read.
	m := regexp.MustCompile(`data-live-stream="[^"]*after=([0-9]+)"`).FindStringSubmatch(first)
	if m == nil {
		t.Fatal("the pipelines page names no stream with after=")
	}
	if after, _ := strconv.ParseInt(m[1], 10, 64); after < newestBefore || after > newestEvent(t, ts) {
		t.Errorf("the page's stream starts after event %d, want the newest (%d or later)", after, newestBefore)
	}
	if n := strings.Count(first, "<tr data-name="); n != 100 {
		t.Fatalf("the first page has %d rows, want 100", n)
	}
	if !strings.Contains(first, `data-name="p099"`) || strings.Contains(first, `data-name="z-`) {
		t.Fatal("the first page does not end at p099")
	}
	if !strings.Contains(first, `href="/ui/pipelines?after=p099" rel="next"`) {
		t.Fatal("the first page has no link to the page after p099")
	}
	_, second := b.get("/ui/pipelines?after=p099")
	if n := strings.Count(second, "<tr data-name="); n != 5 || strings.Contains(second, `rel="next"`) {
		t.Fatalf("the second page has %d rows (want 5) or a next page", n)
	}
	for name, status := range wantStatus {
		m := regexp.MustCompile(`(?s)<tr data-name="` + name + `">(.*?)</tr>`).FindStringSubmatch(second)
		if m == nil {
			t.Errorf("%s: no row", name)
			continue
		}
		row := m[1]
		if status == "" {
			if !strings.Contains(row, `data-status=""`) || strings.Contains(row, "/executions/") {
				t.Errorf("%s never ran, its row says:\n%s", name, row)
			}
			continue
		}
		if !strings.Contains(row, `data-status="`+status+`"`) {
			t.Errorf("%s: row does not say %s:\n%s", name, status, row)
		}
		if !strings.Contains(row, `href="/ui/pipelines/`+name+`/executions/`+latest[name]+`"`) {
			t.Errorf("%s: row does not link its latest execution %s:\n%s", name, latest[name], row)
		}
		if !strings.Contains(row, `<span class="trigger">StartPipelineExecution</span>`) {
			t.Errorf("%s: row does not say what started it:\n%s", name, row)
		}
	}
	if row := regexp.MustCompile(`(?s)<tr data-name="z-held">(.*?)</tr>`).FindString(second); !strings.Contains(row, `data-wait="approval"`) {
		t.Errorf("z-held waits for its approval; its row says:\n%s", row)
	}
	// A search matching exactly a page's worth has no next page.
	if _, page := b.get("/ui/pipelines?q=p0"); strings.Count(page, "<tr data-name=") != 100 || strings.Contains(page, `rel="next"`) {
		t.Errorf("searching p0 (100 matches): %d rows, next page %v", strings.Count(page, "<tr data-name="), strings.Contains(page, `rel="next"`))
	}

	// The API's page says the same of the same pipelines.
	page, next, err := ts.api.PipelinePage(ctx, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 100 || next == "" {
		t.Fatalf("API first page: %d pipelines, next %q", len(page), next)
	}
	page, next, err = ts.api.PipelinePage(ctx, 100, next)
	if err != nil || len(page) != 5 || next != "" {
		t.Fatalf("API second page: %d pipelines, next %q, %v", len(page), next, err)
	}
	for _, p := range page {
		switch l := p.LatestExecution; {
		case wantStatus[p.Name] == "":
			if l != nil {
				t.Errorf("API: %s never ran, its latest execution is %+v", p.Name, l)
			}
		case l == nil || l.PipelineExecutionID != latest[p.Name] || l.Status != wantStatus[p.Name]:
			t.Errorf("API: %s's latest execution is %+v, want %s %s", p.Name, l, latest[p.Name], wantStatus[p.Name])
		case p.Name == "z-held" && (l.Waiting == nil || l.Waiting.Kind != "approval"):
			t.Errorf("API: z-held's latest execution waits for %+v, want its approval", l.Waiting)
		}
	}
}

// newestEvent is the sequence number of the newest event, as the API lists
// them.
func newestEvent(t *testing.T, ts *testServer) int64 {
	t.Helper()
	var newest int64
	for {
		evs, err := ts.api.Events(context.Background(), "", newest, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return newest
		}
		newest = evs[len(evs)-1].Seq
	}
}
