package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/store/postgres/pgtest"
)

var (
	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgSrv != nil {
		pgSrv.Stop()
	}
	os.Exit(code)
}

// openPG opens two trails on one fresh PostgreSQL database, as two server
// replicas do.
func openPG(t *testing.T, opts audit.Options) (a, b *audit.Log, dsn string) {
	t.Helper()
	pgOnce.Do(func() { pgSrv, pgErr = pgtest.Start() })
	if pgErr != nil {
		if errors.Is(pgErr, pgtest.ErrUnavailable) && os.Getenv("CI") != "true" {
			t.Skip(pgErr)
		}
		t.Fatal(pgErr)
	}
	dsn = pgSrv.FreshDB(t)
	var logs [2]*audit.Log
	var wg sync.WaitGroup
	var errs [2]error
	for i := range logs {
		wg.Add(1)
		go func() { // together: the table is made once
			defer wg.Done()
			logs[i], errs[i] = audit.OpenPostgres(context.Background(), dsn, opts)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logs[i].Close() })
	}
	return logs[0], logs[1], dsn
}

// TestPostgresTrailIsShared: records appended through two replicas' trails
// are one trail, queried the same through either, append-only, pruned.
func TestPostgresTrailIsShared(t *testing.T) {
	ctx := context.Background()
	a, b, dsn := openPG(t, audit.Options{PruneBatch: 3})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 {
		l := a
		if i%2 == 1 {
			l = b
		}
		rec := audit.Record{Time: t0.Add(time.Duration(i) * time.Minute), RequestID: fmt.Sprint(i), Principal: "admin",
			Operation: "StartPipelineExecution", Outcome: audit.Allowed, Status: 201, Params: map[string]string{"name": "app", "token": "s3cret"}}
		if i == 7 {
			rec.Principal, rec.Outcome, rec.Status = "reader", audit.Denied, 403
		}
		if err := l.Append(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*audit.Log{a, b} {
		all, err := l.Query(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 10 || all[0].RequestID != "9" || all[9].RequestID != "0" {
			t.Fatalf("records through one replica: %d, newest %v", len(all), all)
		}
		if all[9].Params["name"] != "app" || all[9].Params["token"] != audit.Redacted || !all[9].Time.Equal(t0) {
			t.Errorf("first record read back: %+v", all[9])
		}
		denied, _ := l.Query(ctx, audit.Filter{Denied: true})
		since, _ := l.Query(ctx, audit.Filter{Since: t0.Add(5 * time.Minute)})
		page, _ := l.Query(ctx, audit.Filter{Before: all[1].ID, Limit: 3})
		if len(denied) != 1 || denied[0].Principal != "reader" || len(since) != 5 || len(page) != 3 || page[0].RequestID != "7" {
			t.Errorf("filters: denied %d, since %d, page %d", len(denied), len(since), len(page))
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_records SET outcome = 'allowed'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE of an audit record: err = %v, want it refused as append-only", err)
	}
	n, err := a.Prune(ctx, t0.Add(5*time.Minute)) // less the minute of clock skew: records 0..3
	if err != nil {
		t.Fatal(err)
	}
	if left, _ := b.Query(ctx, audit.Filter{}); n != 4 || len(left) != 6 || left[5].RequestID != "4" {
		t.Errorf("pruned %d, %d left", n, len(left))
	}
}
