package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/service/servicetest"
	"github.com/sluice-ci/sluice/internal/store"
)

// committedStore records every state of every deployment as it is
// committed, numbered by commit: what any reader, on any replica, could
// read at some moment. failTxPut, when set, fails the transaction whose
// failTxPut-th definition write it is, as a server stopping in the middle
// of it would (nothing of it is committed).
type committedStore struct {
	store.Store
	mu        sync.Mutex
	commits   int
	states    []committedDeployment
	failTxPut int
	// arts is the artifact store beside it, for a restarted service.
	arts artifact.Store
}

type committedDeployment struct {
	commit int
	service.Deployment
}

func (c *committedStore) record(defs ...store.Definition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commits++
	for _, d := range defs {
		if d.Kind != store.KindDeployment {
			continue
		}
		var dep service.Deployment
		if err := json.Unmarshal(d.Document, &dep); err != nil {
			panic(err)
		}
		c.states = append(c.states, committedDeployment{c.commits, dep})
	}
}

// of returns the committed states of deployment id, oldest first.
func (c *committedStore) of(id string) []committedDeployment {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []committedDeployment
	for _, s := range c.states {
		if s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

func (c *committedStore) PutDefinition(ctx context.Context, d store.Definition) error {
	if err := c.Store.PutDefinition(ctx, d); err != nil {
		return err
	}
	c.record(d)
	return nil
}

var errStopped = errors.New("the server stopped here")

func (c *committedStore) UpdateGlobal(ctx context.Context, fn func(tx store.Tx) error) error {
	var written []store.Definition
	err := c.Store.UpdateGlobal(ctx, func(tx store.Tx) error {
		written = written[:0]
		return fn(&committedTx{Tx: tx, c: c, written: &written})
	})
	if err == nil {
		c.record(written...)
	}
	return err
}

type committedTx struct {
	store.Tx
	c       *committedStore
	written *[]store.Definition
}

func (t *committedTx) PutDefinition(ctx context.Context, d store.Definition) error {
	if t.c.failTxPut == len(*t.written)+1 {
		return errStopped
	}
	if err := t.Tx.PutDefinition(ctx, d); err != nil {
		return err
	}
	*t.written = append(*t.written, d)
	return nil
}

// rollbackFixture is deployFixture (OneAtATime, rolling back on failure,
// agents a1 and a2) over a committedStore; succeed says whether a first
// deployment succeeds on both agents before the test's own.
func rollbackFixture(t *testing.T, succeed bool) (*fixture, *committedStore, service.Deployment) {
	return committedFixture(t, succeed, "autoRollbackConfiguration: {enabled: true}\ndeploymentConfigName: CodeDeployDefault.OneAtATime\n", nil)
}

// committedFixture is rollbackFixture with group, the end of the group's
// declaration, and its alarms read by check when not nil.
func committedFixture(t *testing.T, succeed bool, group string, check service.AlarmCheck) (*fixture, *committedStore, service.Deployment) {
	t.Helper()
	st, arts := servicetest.Stores(t)
	cs := &committedStore{Store: st, arts: arts}
	c := servicetest.NewClock()
	f := &fixture{t: t, ctx: context.Background(), store: cs, clock: c,
		svc: service.New(cs, arts, service.Config{Lease: 30 * time.Second, Now: c.Now})}
	if check != nil {
		f.svc.SetAlarmCheck(check, time.Second)
	}
	src := "applicationName: shop\ndeploymentGroupName: prod\ntargets: {agentGroup: web}\n" + group
	if _, err := f.svc.ApplyDeployGroup(f.ctx, "g.yml", []byte(src)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a1", "a2"} {
		must(t, f.svc.RegisterAgent(f.ctx, service.DeployAgent{ID: a, Group: "web"}))
	}
	var first service.Deployment
	if succeed {
		first = deployAll(t, f, "v1", true)
		f.clock.Add(time.Second)
	}
	return f, cs, first
}

// deployAll deploys revision to a1 and a2, each reporting ok.
func deployAll(t *testing.T, f *fixture, revision string, ok bool) service.Deployment {
	t.Helper()
	d, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader(revision))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a1", "a2"} {
		if claim(t, f, a) == nil {
			break // stopped by a failure
		}
		must(t, f.svc.HostResult(f.ctx, d.ID, a, ok, "", nil))
	}
	d, err = f.svc.GetDeployment(f.ctx, d.ID)
	must(t, err)
	return d
}

// startOnA1 creates a deployment of revision, which a1 takes.
func startOnA1(t *testing.T, f *fixture, revision string) service.Deployment {
	t.Helper()
	d, err := f.svc.CreateDeployment(f.ctx, "shop", "prod", "test", strings.NewReader(revision))
	must(t, err)
	if task := claim(t, f, "a1"); task == nil || task.DeploymentID != d.ID {
		t.Fatalf("a1 took %+v, want %s", task, d.ID)
	}
	return d
}

// checkEndedWithRollback checks that no committed state of deployment id
// is ended without naming its rollback, and that the rollback was created
// in the very commit that ended it; it returns the rollback's id.
func checkEndedWithRollback(t *testing.T, cs *committedStore, id string) string {
	t.Helper()
	var ended *committedDeployment
	for _, s := range cs.of(id) {
		if s.Finished() {
			if s.RolledBack == "" || !strings.Contains(s.Message, "; rolling back to ") {
				t.Fatalf("committed ended without its rollback (commit %d): %s %q", s.commit, s.Status, s.Message)
			}
			if ended == nil {
				ended = &s
			}
		}
	}
	if ended == nil {
		t.Fatalf("deployment %s never ended", id)
	}
	rb := cs.of(ended.RolledBack)
	if len(rb) == 0 || rb[0].commit != ended.commit || rb[0].RollbackOf != id {
		t.Fatalf("rollback %s not created in the commit that ended %s (%d): %+v", ended.RolledBack, id, ended.commit, rb)
	}
	return ended.RolledBack
}

// A failed deployment is committed with its rollback: no reader can see it
// failed without rollbackDeploymentId (CodeDeploy's rollbackInfo), and a
// crash cannot come between the two.
func TestFailureCommittedWithItsRollback(t *testing.T) {
	f, cs, first := rollbackFixture(t, true)
	d := deployAll(t, f, "v2", false)
	rbID := checkEndedWithRollback(t, cs, d.ID)
	if d.Status != "Failed" || d.RolledBack != rbID || !strings.HasSuffix(d.Message, "; rolling back to "+first.ID) {
		t.Fatalf("failed deployment: %+v", d)
	}
	rb, err := f.svc.GetDeployment(f.ctx, rbID)
	if err != nil || rb.Status != "InProgress" || rb.SHA256 != first.SHA256 || rb.RollbackOf != d.ID || len(rb.Hosts) != 2 {
		t.Fatalf("rollback %+v %v", rb, err)
	}
	// The rollback fails too: it does not roll back again.
	claim(t, f, "a1")
	must(t, f.svc.HostResult(f.ctx, rbID, "a1", false, "", nil))
	rb, _ = f.svc.GetDeployment(f.ctx, rbID)
	if rb.Status != "Failed" || rb.RolledBack != "" || strings.Contains(rb.Message, "rolling back") {
		t.Fatalf("failed rollback: %+v", rb)
	}
	if list, _ := f.svc.Deployments(f.ctx, "shop", "prod"); len(list) != 3 {
		t.Fatalf("%d deployments, want 3", len(list))
	}
}

// WaitDeployment, waiting while the deployment fails, returns it naming
// its rollback.
func TestWaitDeploymentNamesRollback(t *testing.T) {
	f, _, _ := rollbackFixture(t, true)
	d := startOnA1(t, f, "v2")
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	type waited struct {
		d   service.Deployment
		err error
	}
	got := make(chan waited, 1)
	go func() {
		d, err := f.svc.WaitDeployment(ctx, d.ID, time.Hour)
		got <- waited{d, err}
	}()
	must(t, f.svc.HostResult(f.ctx, d.ID, "a1", false, "ValidateService failed", nil))
	w := <-got
	if w.err != nil || w.d.Status != "Failed" || w.d.RolledBack != d.ID+"-rollback" {
		t.Fatalf("waited: %+v %v", w.d, w.err)
	}
}

// With nothing that succeeded before, a failed deployment has nothing to
// roll back to: it is final at once, in one commit, with no rollback.
func TestFailureWithNoEarlierSuccess(t *testing.T) {
	f, cs, _ := rollbackFixture(t, false)
	d := deployAll(t, f, "v1", false)
	states := cs.of(d.ID)
	last := states[len(states)-1]
	if d.Status != "Failed" || d.RolledBack != "" || last.Status != "Failed" || last.RolledBack != "" || strings.Contains(d.Message, "rolling back") {
		t.Fatalf("failed first deployment: %+v", d)
	}
	for _, s := range states[:len(states)-1] {
		if s.Finished() {
			t.Fatalf("ended before its last commit: %+v", s)
		}
	}
	w, err := f.svc.WaitDeployment(f.ctx, d.ID, time.Hour)
	if err != nil || w.Status != "Failed" || w.RolledBack != "" {
		t.Fatalf("waited: %+v %v", w, err)
	}
	if list, _ := f.svc.Deployments(f.ctx, "shop", "prod"); len(list) != 1 {
		t.Fatalf("%d deployments, want 1", len(list))
	}
}

// A server that stops while it records a failure and its rollback has
// recorded neither: the deployment is still in progress, its host still
// leased. Restarted, the host's lease lapses (the agent does not resend a
// result that was not taken), the deployment fails and rolls back then,
// exactly once.
func TestStopWhileRecordingRollback(t *testing.T) {
	f, cs, first := rollbackFixture(t, true)
	d := startOnA1(t, f, "v2")
	cs.failTxPut = 2 // the rollback is written, the failure is not
	if err := f.svc.HostResult(f.ctx, d.ID, "a1", false, "", nil); !errors.Is(err, errStopped) {
		t.Fatalf("result while stopping: %v", err)
	}
	cs.failTxPut = 0
	got, err := f.svc.GetDeployment(f.ctx, d.ID)
	if err != nil || got.Status != "InProgress" || got.Hosts[0].Status != "InProgress" || got.RolledBack != "" {
		t.Fatalf("after the stop: %+v %v", got, err)
	}
	if _, err := f.svc.GetDeployment(f.ctx, d.ID+"-rollback"); err == nil {
		t.Fatal("the rollback was committed without the failure")
	}

	restarted := service.New(cs, cs.arts, service.Config{Lease: 30 * time.Second, Now: f.clock.Now})
	f.clock.Add(31 * time.Second)
	// The agents are stale by now; they are back, and the rollback goes to them.
	for _, a := range []string{"a1", "a2"} {
		must(t, restarted.RegisterAgent(f.ctx, service.DeployAgent{ID: a, Group: "web"}))
	}
	got, err = restarted.GetDeployment(f.ctx, d.ID)
	if err != nil || got.Status != "Failed" || got.Hosts[0].Message != "the agent stopped answering" {
		t.Fatalf("after the lease: %+v %v", got, err)
	}
	rbID := checkEndedWithRollback(t, cs, d.ID)
	list, err := restarted.Deployments(f.ctx, "shop", "prod")
	must(t, err)
	rollbacks := 0
	for _, o := range list {
		if o.RollbackOf != "" {
			rollbacks++
			if o.ID != rbID || o.SHA256 != first.SHA256 || len(o.Hosts) != 2 {
				t.Errorf("rollback %+v", o)
			}
		}
	}
	if rollbacks != 1 || len(list) != 3 {
		t.Fatalf("%d rollbacks in %d deployments, want 1 in 3", rollbacks, len(list))
	}
}

// A deployment stopped on an alarm is committed with its rollback too
// (DEPLOYMENT_STOP_ON_ALARM); the rollback is not watched.
func TestStopOnAlarmCommittedWithItsRollback(t *testing.T) {
	a := &alarmState{}
	f, cs, first := committedFixture(t, true, "deploymentConfigName: CodeDeployDefault.AllAtOnce\n"+
		"autoRollbackConfiguration: {enabled: true, events: [DEPLOYMENT_STOP_ON_ALARM]}\n"+
		"alarmConfiguration:\n  enabled: true\n  alarms: [{name: five-xx}]\n", a.check)
	d := startOnA1(t, f, "v2")
	a.failing = "is ALARM"
	must(t, f.svc.WatchDeployAlarmsOnce(f.ctx))
	rbID := checkEndedWithRollback(t, cs, d.ID)
	got, _ := f.svc.GetDeployment(f.ctx, d.ID)
	if got.Status != "Stopped" || got.RolledBack != rbID || !strings.Contains(got.Message, "stopped on alarm: alarm five-xx: is ALARM") ||
		!strings.HasSuffix(got.Message, "; rolling back to "+first.ID) {
		t.Fatalf("stopped: %+v", got)
	}
	rb, err := f.svc.GetDeployment(f.ctx, rbID)
	if err != nil || rb.Status != "InProgress" || rb.SHA256 != first.SHA256 || rb.WatchSeconds != 0 {
		t.Fatalf("rollback %+v %v", rb, err)
	}
	// Still in ALARM: the rollback is not stopped.
	must(t, f.svc.WatchDeployAlarmsOnce(f.ctx))
	if rb, _ = f.svc.GetDeployment(f.ctx, rbID); rb.Status != "InProgress" {
		t.Fatalf("the rollback was watched: %+v", rb)
	}
}
