package service_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/postgres"
	"github.com/sluice-ci/sluice/internal/store/postgres/pgtest"
)

var errInjected = errors.New("injected failure")

// faultyStore is a real store whose global transactions fail on demand at
// their event append, after the rest of their writes.
type faultyStore struct {
	store.Store
	failEvents atomic.Bool
}

func (f *faultyStore) UpdateGlobal(ctx context.Context, fn func(tx store.Tx) error) error {
	return f.Store.UpdateGlobal(ctx, func(tx store.Tx) error { return fn(faultyTx{tx, f}) })
}

type faultyTx struct {
	store.Tx
	f *faultyStore
}

func (t faultyTx) InsertEvent(ctx context.Context, e store.Event) error {
	if t.f.failEvents.Load() {
		return errInjected
	}
	return t.Tx.InsertEvent(ctx, e)
}

// pullEvents counts the pull request events of svc by their event name.
func pullEvents(t *testing.T, svc *service.Service) map[string]int {
	t.Helper()
	evs, err := svc.Events(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, ev := range evs {
		switch d := ev.Detail.(type) {
		case service.PullRequestEventDetail:
			n[d.Event]++
		case service.PullRequestCommentEventDetail:
			n[d.Event]++
		}
	}
	return n
}

// TestPullRequestChangeAndEventCommitTogether: a change of a pull request
// and its event are one transaction. With the event's append failing, an
// approval, a comment and a closing leave neither the change nor the event;
// a merge whose git step landed but whose record failed (as if its replica
// died) leaves its claim, which blocks a second merge while it stands and,
// once its lease ran out, is recovered as the merge it was, without a second
// git merge.
func TestPullRequestChangeAndEventCommitTogether(t *testing.T) {
	ctx := context.Background()
	var faulty *faultyStore
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	e := newPullEnvOn(t, func(s store.Store) store.Store { faulty = &faultyStore{Store: s}; return faulty }, now)
	svc := e.svc
	e.commit("main", "b.txt", "b\n") // main and feature diverge: a three-way merge makes a commit
	pr, err := svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	before := pullEvents(t, svc)
	if before["pullRequestCreated"] != 1 {
		t.Fatalf("events after creating = %v", before)
	}

	faulty.failEvents.Store(true)
	if _, err := svc.SetPullRequestApproval(ctx, "app", pr.ID, "bob", true); !errors.Is(err, errInjected) {
		t.Fatalf("approval with its event failing: %v", err)
	}
	if _, err := svc.CommentOnPullRequest(ctx, service.PullCommentRequest{Repository: "app", ID: pr.ID, Content: "hm", Principal: "bob"}); !errors.Is(err, errInjected) {
		t.Fatalf("comment with its event failing: %v", err)
	}
	if _, err := svc.UpdatePullRequest(ctx, service.PullRequestUpdate{Repository: "app", ID: pr.ID, Close: true}); !errors.Is(err, errInjected) {
		t.Fatalf("closing with its event failing: %v", err)
	}
	got, err := svc.PullRequest(ctx, "app", pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Approvals) != 0 || len(got.Comments) != 0 || got.Status != service.PullRequestOpen {
		t.Fatalf("changes whose events failed were kept: %+v", got)
	}
	faulty.failEvents.Store(false)
	if after := pullEvents(t, svc); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("events after failed changes = %v, want %v", after, before)
	}

	// The merge: claimed, merged in git, and its record (with its event)
	// fails, as if its replica died there.
	mainBefore := e.run("rev-parse", "main")
	merge := service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: gitserver.ThreeWay, Principal: "alice"}
	faulty.failEvents.Store(true)
	if _, err := svc.MergePullRequest(ctx, merge); !errors.Is(err, errInjected) {
		t.Fatalf("merge whose record failed: %v", err)
	}
	faulty.failEvents.Store(false)
	landed, _ := e.git.Head(ctx, "app", "main")
	if landed == mainBefore {
		t.Fatal("the merge's git step did not land")
	}
	got, _ = svc.PullRequest(ctx, "app", pr.ID)
	if got.Status != service.PullRequestOpen || got.Merging == nil {
		t.Fatalf("after a merge that was not recorded: %+v, want open with its claim", got)
	}
	merge.Principal, merge.Strategy = "dave", gitserver.FastForward
	_, err = svc.MergePullRequest(ctx, merge)
	wantCode(t, err, service.CodeConflict, "being merged by alice")
	_, err = svc.UpdatePullRequest(ctx, service.PullRequestUpdate{Repository: "app", ID: pr.ID, Close: true})
	wantCode(t, err, service.CodeConflict, "being merged")

	clock.Add(int64(11 * time.Minute)) // the claim's lease runs out
	merged, err := svc.MergePullRequest(ctx, merge)
	if err != nil {
		t.Fatal(err)
	}
	if !merged.Merged || merged.MergedBy != "alice" || merged.MergeCommit != landed || merged.Merging != nil || merged.MergeOption != gitserver.ThreeWay {
		t.Fatalf("recovered merge = %+v, want alice's, at %s", merged, landed)
	}
	if head, _ := e.git.Head(ctx, "app", "main"); head != landed {
		t.Fatalf("main = %s after the recovery, want %s: git merged twice", head, landed)
	}
	if n := pullEvents(t, svc)["pullRequestMergeStatusUpdated"]; n != 1 {
		t.Fatalf("merge events = %d, want 1", n)
	}
}

// TestPullRequestMergeRefusesNothingToMerge: a squash whose changes are in
// the destination already (the case of a squash that landed and was not
// recorded) is refused rather than made again as an empty commit.
func TestPullRequestMergeRefusesNothingToMerge(t *testing.T) {
	ctx := context.Background()
	e := newPullEnv(t)
	e.run("checkout", "-q", "main")
	e.run("merge", "-q", "--squash", "feature")
	e.run("commit", "-q", "-m", "squashed by hand")
	e.run("push", "-q", filepath.Join(e.root, "app.git"), "main")
	before := e.run("rev-parse", "main")
	pr, err := e.svc.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.MergePullRequest(ctx, service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: gitserver.Squash, Principal: "alice"})
	wantCode(t, err, service.CodeInvalid, "nothing to merge")
	if head, _ := e.git.Head(ctx, "app", "main"); head != before {
		t.Fatal("main moved")
	}
	if got, _ := e.svc.PullRequest(ctx, "app", pr.ID); got.Merging != nil || got.Status != service.PullRequestOpen {
		t.Fatalf("after a refused merge: %+v, want open and no claim", got)
	}
}

var (
	pgOnce sync.Once
	pgSrv  *pgtest.Server
	pgErr  error
)

// sharedPostgres starts one PostgreSQL server for this package's tests that
// need one, the first time one asks (stopped by TestMain).
func sharedPostgres(t *testing.T) *pgtest.Server {
	pgOnce.Do(func() { pgSrv, pgErr = pgtest.Start() })
	if pgErr != nil {
		if os.Getenv("CI") == "true" && !errors.Is(pgErr, pgtest.ErrUnavailable) {
			t.Fatal(pgErr)
		}
		t.Skip(pgErr)
	}
	return pgSrv
}

// twoReplicas are two services on one fresh PostgreSQL database, each with
// its own connection pool, as two servers sharing a store have.
func twoReplicas(t *testing.T) [2]*service.Service {
	t.Helper()
	dsn := sharedPostgres(t).FreshDB(t)
	var replicas [2]*service.Service
	for i := range replicas {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		replicas[i] = newPullService(t, st, nil)
	}
	return replicas
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgSrv != nil {
		pgSrv.Stop()
	}
	os.Exit(code)
}

// TestPullRequestsAcrossReplicas: two services, each on its own connection
// pool to one PostgreSQL database and sharing the repositories (as replicas
// do), race approvals, then merges with approvals and comments: no approval
// or comment that was acknowledged is lost, exactly one merge succeeds, git
// merges once, and one merge event is written.
func TestPullRequestsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	replicas := twoReplicas(t)
	// The hosted repositories are shared (one directory, as on a shared file
	// system); the pull request set-up uses the first replica.
	e := newPullEnvOn(t, nil, nil)
	for _, r := range replicas {
		r.SetPullRepos(e.git)
	}
	e.commit("main", "b.txt", "b\n")
	mainBefore := e.run("rev-parse", "main")
	a, b := replicas[0], replicas[1]
	pr, err := a.CreatePullRequest(ctx, service.PullRequestRequest{Repository: "app", Title: "Feature", Source: "feature", Destination: "main", Principal: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	const approvers = 8
	rule := fmt.Sprintf(`{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":%d}]}`, approvers)
	if _, err := b.AddPullRequestApprovalRule(ctx, "app", pr.ID, "all-hands", rule); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range approvers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := replicas[i%2].SetPullRequestApproval(ctx, "app", pr.ID, fmt.Sprintf("approver%d", i), true); err != nil {
				t.Errorf("approver%d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	got, err := b.PullRequest(ctx, "app", pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CurrentApprovals()) != approvers || !got.Rules[0].Satisfied {
		t.Fatalf("approvals after the race = %v, want all %d", got.CurrentApprovals(), approvers)
	}

	// Merges on both replicas race each other and more approvals.
	const mergers, late = 6, 6
	var merged atomic.Int32
	var acked sync.Map // principal → approved
	start = make(chan struct{})
	for i := range mergers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := replicas[i%2].MergePullRequest(ctx, service.MergePullRequestRequest{Repository: "app", ID: pr.ID, Strategy: gitserver.ThreeWay, Principal: fmt.Sprintf("merger%d", i)})
			switch {
			case err == nil:
				merged.Add(1)
			case service.ErrorCode(err) != service.CodeConflict:
				t.Errorf("merger%d: %v, want success or a conflict", i, err)
			}
		}()
	}
	for i := range late {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			who := fmt.Sprintf("late%d", i)
			_, err := replicas[i%2].SetPullRequestApproval(ctx, "app", pr.ID, who, true)
			switch {
			case err == nil:
				acked.Store(who, true)
			case service.ErrorCode(err) != service.CodeConflict: // closed by the merge
				t.Errorf("%s: %v", who, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := merged.Load(); n != 1 {
		t.Fatalf("%d merges succeeded, want exactly 1", n)
	}
	got, err = a.PullRequest(ctx, "app", pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Merged || got.Status != service.PullRequestClosed || got.Merging != nil {
		t.Fatalf("after the merges: %+v", got)
	}
	have := map[string]bool{}
	for _, ap := range got.Approvals {
		have[ap.Principal] = true
	}
	acked.Range(func(who, _ any) bool {
		if !have[who.(string)] {
			t.Errorf("%s's acknowledged approval was lost", who)
		}
		return true
	})
	if len(got.Approvals) < approvers {
		t.Errorf("approvals = %d, want at least %d", len(got.Approvals), approvers)
	}
	// main gained one merge commit and the feature's one commit: git merged once.
	bare := "--git-dir=" + filepath.Join(e.root, "app.git")
	if n := e.run(bare, "rev-list", "--count", mainBefore+"..main"); n != "2" {
		t.Errorf("main gained %s commits, want 2 (one merge)", n)
	}
	if head := e.run(bare, "rev-parse", "main"); head != got.MergeCommit {
		t.Errorf("main = %s, recorded merge commit %s", head, got.MergeCommit)
	}
	events := pullEvents(t, a)
	if events["pullRequestMergeStatusUpdated"] != 1 {
		t.Errorf("merge events = %d, want 1", events["pullRequestMergeStatusUpdated"])
	}
	if n := events["pullRequestApprovalStateChanged"]; n != len(have) {
		t.Errorf("approval events = %d, want one per stored approval (%d)", n, len(have))
	}
}

// TestApprovalRuleTemplatesAcrossReplicas: associations of one template made
// at once through two replicas are all kept, and of two creations of one
// name, exactly one succeeds.
func TestApprovalRuleTemplatesAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	replicas := twoReplicas(t)
	const content = `{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}`
	var created atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := replicas[i%2].CreateApprovalRuleTemplate(ctx, "reviewers", fmt.Sprintf("made by %d", i), content)
			switch {
			case err == nil:
				created.Add(1)
			case service.ErrorCode(err) != service.CodeConflict:
				t.Errorf("create %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := created.Load(); n != 1 {
		t.Fatalf("%d creations of one template succeeded, want 1", n)
	}
	const repos = 8
	exists := func(string) error { return nil }
	start = make(chan struct{})
	for i := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := replicas[i%2].AssociateApprovalRuleTemplate(ctx, "reviewers", fmt.Sprintf("repo%d", i), true, exists); err != nil {
				t.Errorf("associate repo%d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	got, err := replicas[0].ApprovalRuleTemplate(ctx, "reviewers")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Repositories) != repos {
		t.Fatalf("repositories = %v, want all %d", got.Repositories, repos)
	}
}
