package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/migrate"
)

// A database made by an older sluice, with only its first migrations
// applied, opens: the missing ones run and its rows stay.
func TestOpenUpgradesAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	// The schema of a sluice whose last migration was 0003 (projects).
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_triggers.sql", "0003_projects.sql"} {
		body, err := fs.ReadFile(migrations, "migrations/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: body}
	}
	path := filepath.Join(t.TempDir(), "v3.db")
	s, err := openAt(ctx, path, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO projects (name, definition, created_ms, updated_ms) VALUES ('kept', '{"a":1}', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	// An execution from before its trigger had columns: the upgrade copies
	// them out of its document.
	if _, err := s.write.ExecContext(ctx, `INSERT INTO executions (id, pipeline, seq, status, active, document, started_ms, updated_ms)
		VALUES ('old-1', 'old', 1, 'Succeeded', 0, '{"trigger":{"triggerType":"Webhook","triggerDetail":"push to main"}}', 1, 2),
			('old-2', 'old', 2, 'InProgress', 1, '{"trigger":{"triggerType":"StartPipelineExecution"}}', 3, 4)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO pipelines (name, version, declaration, created_ms, updated_ms)
		VALUES ('old', 4, '{"name":"old","executionMode":"QUEUED","pipelineType":"V2","stages":[{"name":"a"},{"name":"b"}]}', 1, 2),
			('plain', 1, '{"name":"plain","stages":[{"name":"a"}]}', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Definitions(ctx, store.KindFunction); err == nil {
		t.Fatal("functions exist at version 3: the old schema is not old")
	}
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("open the older database: %v", err)
	}
	defer s.Close()
	d, err := s.Definition(ctx, store.KindProject, "kept")
	if err != nil || string(d.Document) != `{"a":1}` {
		t.Fatalf("project after the upgrade = %+v, %v", d, err)
	}
	var v int
	if err := s.write.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	all, err := migrate.Load(mustSub(t))
	if err != nil {
		t.Fatal(err)
	}
	if v != len(all) {
		t.Fatalf("version after the upgrade = %d, want %d", v, len(all))
	}
	for _, kind := range store.Kinds {
		if _, err := s.Definitions(ctx, kind); err != nil {
			t.Fatalf("%s after the upgrade: %v", kind, err)
		}
	}
	// and the summary of its pipelines' declarations.
	page, err := s.PipelinePage(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PipelineSummary{{ExecutionMode: "QUEUED", PipelineType: "V2", Stages: 2}, {Stages: 1}}
	if len(page) != 2 || page[0].PipelineSummary != want[0] || page[1].PipelineSummary != want[1] {
		t.Errorf("pipelines after the upgrade = %+v, want summaries %+v", page, want)
	}
	for _, id := range []string{"old-1", "old-2"} {
		e, err := s.Execution(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][2]string{"old-1": {"Webhook", "push to main"}, "old-2": {"StartPipelineExecution", ""}}[id]
		if e.TriggerType != want[0] || e.TriggerDetail != want[1] {
			t.Errorf("%s's trigger after the upgrade = %q %q, want %q", id, e.TriggerType, e.TriggerDetail, want)
		}
	}
}

func mustSub(t *testing.T) fs.FS {
	t.Helper()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}
