package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
)

func open(t *testing.T, path string, opts audit.Options) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestAppendAndQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "audit.db"), audit.Options{})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := []audit.Record{
		{Time: t0, Principal: "admin", Operation: "StartPipelineExecution", Resource: "pipeline/app", Outcome: audit.Allowed, Status: 200,
			Params: map[string]string{"name": "app"}, RequestID: "r1", Source: "10.0.0.1", UserAgent: "sluice", Duration: 1500 * time.Microsecond},
		{Time: t0.Add(time.Minute), Principal: "reader", Operation: "StartPipelineExecution", Resource: "pipeline/app", Outcome: audit.Denied, Status: 403,
			Error: "token reader may not StartPipelineExecution"},
		{Time: t0.Add(2 * time.Minute), Principal: "admin", Operation: "GetPipelineState", Resource: "pipeline/app", Outcome: audit.Failed, Status: 404,
			Error: "pipeline app not found"},
		{Time: t0.Add(3 * time.Minute), Principal: "webhook/gh", Operation: "DeliverWebhook", Resource: "webhook/gh", Outcome: audit.Denied, Status: 401},
	}
	for _, r := range recs {
		if err := l.Append(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	ids := func(rs []audit.Record) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.RequestID+"/"+r.Principal+"/"+r.Operation)
		}
		return strings.Join(s, " ")
	}
	all, err := l.Query(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].Principal != "webhook/gh" || all[3].RequestID != "r1" {
		t.Fatalf("all records, newest first: %s", ids(all))
	}
	first := all[3]
	if !first.Time.Equal(t0) || first.Source != "10.0.0.1" || first.UserAgent != "sluice" || first.Duration != 1500*time.Microsecond ||
		first.Params["name"] != "app" || first.Status != 200 || first.Outcome != audit.Allowed || first.Resource != "pipeline/app" {
		t.Errorf("first record read back = %+v", first)
	}
	for _, tc := range []struct {
		f    audit.Filter
		want int
	}{
		{audit.Filter{Principal: "admin"}, 2},
		{audit.Filter{Operation: "StartPipelineExecution"}, 2},
		{audit.Filter{Denied: true}, 2},
		{audit.Filter{Denied: true, Principal: "reader"}, 1},
		{audit.Filter{Since: t0.Add(90 * time.Second)}, 2},
		{audit.Filter{Limit: 3}, 3},
		{audit.Filter{Before: all[1].ID}, 2},
		{audit.Filter{Principal: "nobody"}, 0},
	} {
		got, err := l.Query(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want {
			t.Errorf("Query(%+v) = %d records (%s), want %d", tc.f, len(got), ids(got), tc.want)
		}
	}
}

func TestSecretsAreRedacted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "audit.db"), audit.Options{})
	params := map[string]string{"token": "s3cr3t-1", "X-Api-Key": "s3cr3t-2", "clientSecret": "s3cr3t-3", "password": "s3cr3t-4",
		"Authorization": "s3cr3t-5", "credentialsSecret": "s3cr3t-6", "name": "app"}
	if err := l.Append(ctx, audit.Record{Operation: "X", Params: params}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range got[0].Params {
		if strings.HasPrefix(v, "s3cr3t") {
			t.Errorf("param %s kept its secret value %q", k, v)
		}
	}
	if got[0].Params["name"] != "app" || got[0].Params["token"] != audit.Redacted {
		t.Errorf("params = %v", got[0].Params)
	}
	if params["token"] != "s3cr3t-1" {
		t.Errorf("Append changed its caller's map")
	}
}

// TestSecretKeyAnswersStayRight: SecretKey remembers its answers for a
// bounded number of names; asked again, and past the bound, it answers the
// same.
func TestSecretKeyAnswersStayRight(t *testing.T) {
	for round := range 2 {
		for i := range 1500 {
			if audit.SecretKey(fmt.Sprintf("plain%d", i)) || !audit.SecretKey(fmt.Sprintf("apiKey%d", i)) {
				t.Fatalf("round %d, name %d: a wrong answer", round, i)
			}
		}
	}
}

// Many appends at once share transactions, and each returns only once its
// record is committed.
func TestGroupCommitUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	l := open(t, path, audit.Options{})
	fresh, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()

	const goroutines, each = 32, 25
	var wg sync.WaitGroup
	var notVisible atomic.Int64
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := l.Append(ctx, audit.Record{RequestID: id, Principal: fmt.Sprintf("p%d", g), Operation: "Op", Outcome: audit.Allowed, Status: 200}); err != nil {
					errs <- err
					return
				}
				// Committed: a reader that is not the writer sees it at once.
				var n int
				if err := fresh.QueryRow(`SELECT COUNT(*) FROM audit_records WHERE request_id = ?`, id).Scan(&n); err != nil {
					errs <- err
					return
				}
				if n != 1 {
					notVisible.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := notVisible.Load(); n > 0 {
		t.Errorf("%d records were not visible to another reader when Append returned", n)
	}
	st := l.Stats()
	if st.Records != goroutines*each {
		t.Errorf("records written = %d, want %d", st.Records, goroutines*each)
	}
	if st.Commits >= st.Records {
		t.Errorf("%d commits for %d records: appends did not share transactions", st.Commits, st.Records)
	}
	t.Logf("%d records in %d commits", st.Records, st.Commits)
	var ids []int64
	got, err := l.Query(ctx, audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if len(got) != goroutines*each {
		t.Fatalf("query found %d records, want %d", len(got), goroutines*each)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("ids not strictly decreasing newest first: %v", ids[max(0, i-2):i+1])
		}
	}
}

// A record appended is there for whoever opens the file next, even when the
// log that wrote it was never closed (the process died).
func TestReopenAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	first, err := audit.Open(ctx, path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Deliberately not closed before the second open: as after a crash, the
	// committed records are in the WAL, not yet in the main file.
	t.Cleanup(func() { first.Close() })
	if err := first.Append(ctx, audit.Record{RequestID: "before-crash", Operation: "PutSecret", Outcome: audit.Allowed}); err != nil {
		t.Fatal(err)
	}
	second := open(t, path, audit.Options{})
	got, err := second.Query(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RequestID != "before-crash" {
		t.Fatalf("after reopening: %+v", got)
	}
	// The schema is not created twice, and new records follow the old.
	if err := second.Append(ctx, audit.Record{RequestID: "after", Operation: "X"}); err != nil {
		t.Fatal(err)
	}
	got, _ = second.Query(ctx, audit.Filter{})
	if len(got) != 2 || got[0].RequestID != "after" || got[0].ID <= got[1].ID {
		t.Fatalf("after a second append: %+v", got)
	}
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	l, err := audit.Open(ctx, path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var appended atomic.Int64
	for i := range 50 {
		wg.Go(func() {
			if l.Append(ctx, audit.Record{RequestID: fmt.Sprint(i)}) == nil {
				appended.Add(1)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := l.Append(ctx, audit.Record{}); err != audit.ErrClosed {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
	l2 := open(t, path, audit.Options{})
	got, err := l2.Query(ctx, audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != appended.Load() {
		t.Errorf("%d records after Close, %d appends succeeded", len(got), appended.Load())
	}
}

func TestAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	l := open(t, path, audit.Options{})
	if err := l.Append(ctx, audit.Record{Principal: "mallory", Outcome: audit.Denied}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_records SET outcome = 'allowed'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE of an audit record: err = %v, want it refused as append-only", err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "audit.db"), audit.Options{PruneBatch: 7})
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50 {
		// One record a day, the oldest 49 days ago.
		if err := l.Append(ctx, audit.Record{Time: now.Add(-time.Duration(49-i) * 24 * time.Hour), RequestID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := l.Prune(ctx, now.Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 19 { // 49..31 days old
		t.Errorf("pruned %d records, want 19", n)
	}
	got, _ := l.Query(ctx, audit.Filter{Limit: 100})
	if len(got) != 31 || got[len(got)-1].RequestID != "19" {
		t.Errorf("after pruning: %d records, oldest %s", len(got), got[len(got)-1].RequestID)
	}
}

// The background pruner applies the retention by itself.
func TestPrunerAppliesRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var clock atomic.Int64
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(now.UnixNano())
	l := open(t, filepath.Join(t.TempDir(), "audit.db"), audit.Options{
		Retention: 24 * time.Hour, PruneInterval: 10 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) },
	})
	for _, age := range []time.Duration{72 * time.Hour, 25 * time.Hour, time.Hour} {
		if err := l.Append(ctx, audit.Record{Time: now.Add(-age), RequestID: age.String()}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := l.Query(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].RequestID == "1h0m0s" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records older than the retention still there: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1.5d": 36 * time.Hour, "15m": 15 * time.Minute, "0": 0} {
		got, err := audit.ParseAge(in)
		if err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1h", "soon"} {
		if _, err := audit.ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) accepted", in)
		}
	}
}

// TestSubmitThenFlush: records handed over without waiting are committed in
// order with the rest, and Flush returns once they are; a search by time
// finds them without an index.
func TestSubmitThenFlush(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := open(t, filepath.Join(t.TempDir(), "audit.db"), audit.Options{})
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 50 {
		r := audit.Record{Time: t0.Add(time.Duration(i) * time.Hour), Principal: "reader", Operation: "GetPipeline", Outcome: audit.Allowed, Status: 200,
			RequestID: fmt.Sprintf("r%02d", i)}
		if err := l.Submit(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := l.Query(ctx, audit.Filter{Limit: 100})
	if err != nil || len(all) != 50 {
		t.Fatalf("%d records after Flush (%v)", len(all), err)
	}
	for _, tc := range []struct {
		since time.Time
		want  int
	}{
		{t0.Add(-time.Hour), 50}, {t0, 50}, {t0.Add(30*time.Hour + time.Second), 19}, {t0.Add(49 * time.Hour), 1}, {t0.Add(50 * time.Hour), 0},
	} {
		got, err := l.Query(ctx, audit.Filter{Since: tc.since, Limit: 100})
		if err != nil || len(got) != tc.want {
			t.Errorf("since %v: %d records, want %d (%v)", tc.since, len(got), tc.want, err)
		}
	}
	if n, err := l.Prune(ctx, t0.Add(10*time.Hour)); err != nil || n < 9 || n > 10 {
		t.Fatalf("pruned %d (%v), want the 10 older than 10 hours, less those within the clock skew", n, err)
	}
}
