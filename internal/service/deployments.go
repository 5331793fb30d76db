package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Deployments roll a revision over the agents of a deployment group, as
// CodeDeploy's in-place deployments do. The server only plans and records:
// agents (`sluice agent`) ask for the host deployments that are theirs,
// keep a lease on each with heartbeats, and report each lifecycle event.
// A deployment is one document (store.KindDeployment), rewritten whole
// under lockDeployments at each change.

// Agent liveness: an agent that has not asked for work for AgentStale is
// not deployed to; a host deployment whose lease ends fails.
const AgentStale = 30 * time.Second

// DeployAgent is a registered agent.
type DeployAgent struct {
	ID       string            `json:"id"`
	Group    string            `json:"group"`
	Tags     map[string]string `json:"tags,omitempty"`
	LastSeen time.Time         `json:"lastSeen"`
}

// HostEvent is how one lifecycle event went on a host, as its agent tells.
type HostEvent struct {
	Event      string `json:"event"`
	Status     string `json:"status"`
	DurationMS int64  `json:"durationMs"`
	HookMS     int64  `json:"hookMs"`
	Message    string `json:"message,omitempty"`
	Log        string `json:"log,omitempty"`
}

// DeploymentHost is a deployment on one agent.
type DeploymentHost struct {
	Agent      string      `json:"agent"`
	Status     string      `json:"status"` // Pending, InProgress, Succeeded, Failed, Skipped
	LeaseUntil time.Time   `json:"leaseUntil,omitzero"`
	Started    time.Time   `json:"started,omitzero"`
	Finished   time.Time   `json:"finished,omitzero"`
	Message    string      `json:"message,omitempty"`
	Events     []HostEvent `json:"events,omitempty"`
}

// Deployment is one deployment to a group.
type Deployment struct {
	ID          string           `json:"id"`
	Application string           `json:"applicationName"`
	Group       string           `json:"deploymentGroupName"`
	Config      string           `json:"deploymentConfigName"`
	Traffic     bool             `json:"shiftsTraffic,omitempty"`
	Revision    string           `json:"revision"` // the artifact key of its zip
	SHA256      string           `json:"sha256"`
	Status      string           `json:"status"` // InProgress, Succeeded, Failed, Stopped (on an alarm)
	Message     string           `json:"message,omitempty"`
	RollbackOf  string           `json:"rollbackOf,omitempty"`
	RolledBack  string           `json:"rollbackDeploymentId,omitempty"`
	Creator     string           `json:"creator,omitempty"` // e.g. pipeline/EXECUTION/STAGE/ACTION
	Plan        deploygroup.Plan `json:"plan"`
	// WatchSeconds is how long the group's alarms are watched after the
	// hosts are done; WatchUntil, when set, is when that watch ends.
	WatchSeconds int              `json:"watchSeconds,omitempty"`
	WatchUntil   time.Time        `json:"watchUntil,omitzero"`
	Hosts        []DeploymentHost `json:"hosts"`
	Created      time.Time        `json:"created"`
	Updated      time.Time        `json:"updated"`
	Region       string           `json:"region,omitempty"` // another region's CodeDeploy action's: only agents tagged region=REGION
}

// GroupID is the group's id as agents see it (a name safe in paths).
func (d *Deployment) GroupID() string {
	sum := sha256.Sum256([]byte(deploygroup.Key(d.Application, d.Group)))
	return "dg-" + hex.EncodeToString(sum[:8])
}

// Finished reports whether the deployment has ended.
func (d *Deployment) Finished() bool { return d.Status != "InProgress" }

// RegisterAgent records an agent at its first registration, or renews it:
// a later registration must name the group and tags it was first recorded
// with (or an admin set since), or it is refused and changes nothing — see
// agentregistration.go for why.
func (s *Service) RegisterAgent(ctx context.Context, a DeployAgent) error {
	if err := validateAgent(a); err != nil {
		return err
	}
	unlock, err := s.lockAgents(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	old, found, err := s.deployAgent(ctx, a.ID)
	if err != nil {
		return err
	}
	if found {
		if err := checkPinned(old, a); err != nil {
			return err
		}
		a.Tags = old.Tags
	}
	a.LastSeen = s.now()
	return s.putAgent(ctx, a)
}

// putAgent stores agent a's record.
func (s *Service) putAgent(ctx context.Context, a DeployAgent) error {
	raw, _ := json.Marshal(a)
	now := s.now()
	return s.store.PutDefinition(ctx, store.Definition{Kind: store.KindDeployAgent, Name: a.ID, Document: raw, Created: now, Updated: now})
}

// DeployAgents lists the registered agents.
func (s *Service) DeployAgents(ctx context.Context) ([]DeployAgent, error) {
	rows, err := s.store.Definitions(ctx, store.KindDeployAgent)
	if err != nil {
		return nil, err
	}
	out := make([]DeployAgent, 0, len(rows))
	for _, r := range rows {
		var a DeployAgent
		if err := json.Unmarshal(r.Document, &a); err != nil {
			return nil, fmt.Errorf("decode agent %s: %w", r.Name, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// CreateDeployment stores the revision (a zip) and starts deploying it to
// the live agents of the group, per its configuration.
func (s *Service) CreateDeployment(ctx context.Context, app, group, creator string, revision io.Reader) (Deployment, error) {
	return s.createDeployment(ctx, app, group, creator, "", revision)
}

func (s *Service) createDeployment(ctx context.Context, app, group, creator, region string, revision io.Reader) (Deployment, error) {
	info, err := s.DeployGroup(ctx, app, group)
	if err != nil {
		return Deployment{}, err
	}
	id := "d-" + strings.ToUpper(strings.ReplaceAll(newID(), "-", "")[:12])
	key := "deployments/" + id + "/revision.zip"
	h := sha256.New()
	if _, err := s.artifacts.Put(ctx, key, io.TeeReader(revision, h)); err != nil {
		return Deployment{}, fmt.Errorf("store the revision: %w", err)
	}
	return s.startDeployment(ctx, info.Group, Deployment{ID: id, Revision: key, SHA256: hex.EncodeToString(h.Sum(nil)), Creator: creator, Region: region})
}

func (s *Service) startDeployment(ctx context.Context, g deploygroup.Group, d Deployment) (Deployment, error) {
	d, err := s.planDeployment(ctx, g, d)
	if err != nil {
		return Deployment{}, err
	}
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return Deployment{}, err
	}
	defer unlock()
	if err := s.putDeployment(ctx, d, true); err != nil {
		return Deployment{}, err
	}
	s.changed.broadcast()
	return d, nil
}

// planDeployment works out d on g: its hosts (g's live agents), its plan
// and its start; it stores nothing and takes no lock, so a change made
// under lockDeployments may plan a deployment too (a rollback).
func (s *Service) planDeployment(ctx context.Context, g deploygroup.Group, d Deployment) (Deployment, error) {
	agents, err := s.DeployAgents(ctx)
	if err != nil {
		return Deployment{}, err
	}
	now := s.now()
	var hosts []DeploymentHost
	for _, a := range agents {
		if d.Region != "" && a.Tags["region"] != d.Region {
			continue
		}
		if now.Sub(a.LastSeen) <= AgentStale && g.Targets(deploygroup.Agent{Group: a.Group, Tags: a.Tags}) {
			hosts = append(hosts, DeploymentHost{Agent: a.ID, Status: "Pending"})
		}
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Agent < hosts[j].Agent })
	plan, err := g.PlanFor(len(hosts))
	if err != nil {
		return Deployment{}, Errorf(CodeConflict, "%v", err)
	}
	d.Application, d.Group, d.Config, d.Traffic = g.Application, g.Name, g.Config, g.ShiftsTraffic
	d.Plan, d.Hosts, d.Status, d.Created, d.Updated = plan, hosts, "InProgress", now, now
	if s.alarms.check != nil && g.Watches() && d.RollbackOf == "" {
		d.WatchSeconds = g.Alarms.WatchSeconds
	}
	return d, nil
}

// SetReplicaMutex makes changes to documents rewritten whole (deployments)
// also take mutex's lock, which orders them across the replicas sharing the
// store (package replica); without it only this process's are ordered.
// Call it before serving.
func (s *Service) SetReplicaMutex(mutex func(ctx context.Context, name string) (unlock func(), err error)) {
	s.replicaMutex = mutex
}

// lockDeployments takes the lock every change to deployments holds: one at
// a time in this process and, on a shared store, across replicas; two
// replicas each rewriting a deployment from what they read would otherwise
// lose one's change (an agent's result, another's lease).
func (s *Service) lockDeployments(ctx context.Context) (unlock func(), err error) {
	return s.lockAcrossReplicas(ctx, &s.deployMu, "deployments")
}

// lockAgents is lockDeployments for agents' registrations: two replicas
// taking an agent's first registration at once must not both pin it.
func (s *Service) lockAgents(ctx context.Context) (unlock func(), err error) {
	return s.lockAcrossReplicas(ctx, &s.agentMu, "agents")
}

// lockAcrossReplicas takes mu and, on a shared store, the replicas' lock
// called name.
func (s *Service) lockAcrossReplicas(ctx context.Context, mu *sync.Mutex, name string) (unlock func(), err error) {
	mu.Lock()
	if s.replicaMutex == nil {
		return mu.Unlock, nil
	}
	release, err := s.replicaMutex(ctx, name)
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	return func() {
		release()
		mu.Unlock()
	}, nil
}

func (s *Service) putDeployment(ctx context.Context, d Deployment, created bool) error {
	def, err := deploymentDefinition(d)
	if err != nil {
		return err
	}
	return s.store.PutDefinition(ctx, def)
}

func deploymentDefinition(d Deployment) (store.Definition, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return store.Definition{}, fmt.Errorf("encode deployment %s: %w", d.ID, err)
	}
	return store.Definition{Kind: store.KindDeployment, Name: d.ID, Document: raw, Created: d.Created, Updated: d.Updated}, nil
}

// GetDeployment returns one deployment, its hosts and their events' logs.
func (s *Service) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return Deployment{}, err
	}
	defer unlock()
	return s.deployment(ctx, id)
}

func (s *Service) deployment(ctx context.Context, id string) (Deployment, error) {
	row, err := s.store.Definition(ctx, store.KindDeployment, id)
	if errors.Is(err, store.ErrNotFound) {
		return Deployment{}, Errorf(CodeNotFound, "deployment %s not found", id)
	}
	if err != nil {
		return Deployment{}, err
	}
	var d Deployment
	if err := json.Unmarshal(row.Document, &d); err != nil {
		return d, fmt.Errorf("decode deployment %s: %w", id, err)
	}
	if s.expireHosts(&d) {
		if d.Finished() {
			// Its last agents stopped answering: it failed, and rolls back.
			return d, s.putEnded(ctx, &d, deploygroup.EventFailure)
		}
		if err := s.putDeployment(ctx, d, false); err != nil {
			return d, err
		}
	}
	return d, nil
}

// Deployments lists deployments, newest first, of one application and
// group when they are given.
func (s *Service) Deployments(ctx context.Context, app, group string) ([]Deployment, error) {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rows, err := s.store.Definitions(ctx, store.KindDeployment)
	if err != nil {
		return nil, err
	}
	var out []Deployment
	for _, r := range rows {
		d, err := s.deployment(ctx, r.Name)
		if err != nil {
			return nil, err
		}
		if (app == "" || d.Application == app) && (group == "" || d.Group == group) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// HostTask is a host deployment handed to its agent.
type HostTask struct {
	DeploymentID string
	Application  string
	Group        string
	GroupID      string
	Traffic      bool
	SHA256       string
	LeaseUntil   time.Time
}

// ClaimHostDeployment renews agent a's registration and gives it the next
// host deployment that is its own and may start now (its deployment's
// batch has room and has not been stopped), or nil.
func (s *Service) ClaimHostDeployment(ctx context.Context, a DeployAgent) (*HostTask, error) {
	if err := s.RegisterAgent(ctx, a); err != nil {
		return nil, err
	}
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rows, err := s.store.Definitions(ctx, store.KindDeployment)
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Created.Before(rows[j].Created) })
	for _, r := range rows {
		d, err := s.deployment(ctx, r.Name)
		if err != nil || d.Finished() {
			continue
		}
		inFlight, failed := 0, 0
		for _, h := range d.Hosts {
			switch h.Status {
			case "InProgress":
				inFlight++
			case "Failed":
				failed++
			}
		}
		if inFlight >= d.Plan.Batch || d.Plan.Stop(failed) {
			continue
		}
		// Hosts start in their order, so OneAtATime goes host by host.
		for i, h := range d.Hosts {
			if h.Status != "Pending" {
				continue
			}
			if h.Agent != a.ID {
				break
			}
			now := s.now()
			d.Hosts[i].Status, d.Hosts[i].Started, d.Hosts[i].LeaseUntil = "InProgress", now, now.Add(s.lease)
			d.Updated = now
			if err := s.putDeployment(ctx, d, false); err != nil {
				return nil, err
			}
			return &HostTask{DeploymentID: d.ID, Application: d.Application, Group: d.Group, GroupID: d.GroupID(), Traffic: d.Traffic, SHA256: d.SHA256, LeaseUntil: d.Hosts[i].LeaseUntil}, nil
		}
	}
	return nil, nil
}

// hostOf finds agent's host deployment in d, refusing one that is not in
// progress (it was stopped, or its lease ran out): the agent must stop.
func hostOf(d *Deployment, agent string) (int, error) {
	for i, h := range d.Hosts {
		if h.Agent == agent {
			if h.Status != "InProgress" {
				return i, Errorf(CodeConflict, "deployment %s on %s is %s", d.ID, agent, h.Status)
			}
			return i, nil
		}
	}
	return -1, Errorf(CodeForbidden, "deployment %s is not agent %s's", d.ID, agent)
}

// HostHeartbeat renews agent's lease on its host deployment.
func (s *Service) HostHeartbeat(ctx context.Context, id, agent string) (time.Time, error) {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer unlock()
	d, err := s.deployment(ctx, id)
	if err != nil {
		return time.Time{}, err
	}
	i, err := hostOf(&d, agent)
	if err != nil {
		return time.Time{}, err
	}
	d.Hosts[i].LeaseUntil = s.now().Add(s.lease)
	return d.Hosts[i].LeaseUntil, s.putDeployment(ctx, d, false)
}

// HostRevision opens the revision of a deployment for its agent.
func (s *Service) HostRevision(ctx context.Context, id, agent string) (io.ReadCloser, error) {
	d, err := s.GetDeployment(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := hostOf(&d, agent); err != nil {
		return nil, err
	}
	return s.artifacts.Get(ctx, d.Revision)
}

// HostResult records how agent's host deployment went, and ends the
// deployment when it is decided; a failed one rolls back when its group says so.
func (s *Service) HostResult(ctx context.Context, id, agent string, ok bool, message string, events []HostEvent) error {
	unlock, err := s.lockDeployments(ctx)
	if err != nil {
		return err
	}
	d, err := s.deployment(ctx, id)
	if err != nil {
		unlock()
		return err
	}
	i, err := hostOf(&d, agent)
	if err != nil {
		unlock()
		return err
	}
	now := s.now()
	h := &d.Hosts[i]
	h.Status, h.Message, h.Events, h.Finished, h.LeaseUntil = "Failed", message, events, now, time.Time{}
	if ok {
		h.Status = "Succeeded"
	}
	d.Updated = now
	s.decideDeployment(&d)
	if d.Status == "Failed" {
		err = s.putEnded(ctx, &d, deploygroup.EventFailure)
	} else {
		err = s.putDeployment(ctx, d, false)
	}
	unlock()
	if err != nil {
		return err
	}
	s.changed.broadcast()
	return nil
}

// expireHosts fails host deployments whose agent stopped renewing its lease, and
// decides the deployment; it reports whether d changed.
func (s *Service) expireHosts(d *Deployment) bool {
	if d.Finished() {
		return false
	}
	now := s.now()
	changed := false
	for i := range d.Hosts {
		h := &d.Hosts[i]
		if h.Status == "InProgress" && now.After(h.LeaseUntil) {
			h.Status, h.Message, h.Finished, h.LeaseUntil = "Failed", "the agent stopped answering", now, time.Time{}
			changed = true
		}
	}
	if changed {
		d.Updated = now
		s.decideDeployment(d)
	}
	return changed
}

// decideDeployment ends d when no more hosts will start: all finished, or the
// failures stop it and none is in flight.
func (s *Service) decideDeployment(d *Deployment) {
	succeeded, failed, inFlight, pending := 0, 0, 0, 0
	lastFailed := false
	for i, h := range d.Hosts {
		switch h.Status {
		case "Succeeded":
			succeeded++
		case "Failed":
			failed++
			lastFailed = i == len(d.Hosts)-1
		case "InProgress":
			inFlight++
		case "Pending":
			pending++
		}
	}
	if inFlight > 0 || (pending > 0 && !d.Plan.Stop(failed)) {
		return
	}
	for i := range d.Hosts {
		if d.Hosts[i].Status == "Pending" {
			d.Hosts[i].Status = "Skipped"
		}
	}
	if pending == 0 && d.Plan.Succeeded(succeeded, failed, lastFailed) {
		if d.WatchSeconds > 0 {
			// Still watched: the alarm watch ends it (deployalarms.go).
			d.WatchUntil = s.now().Add(time.Duration(d.WatchSeconds) * time.Second)
			d.Message = fmt.Sprintf("%d of %d hosts succeeded; watching alarms until %s", succeeded, len(d.Hosts), d.WatchUntil.UTC().Format(time.RFC3339))
			return
		}
		d.Status = "Succeeded"
		d.Message = fmt.Sprintf("%d of %d hosts succeeded", succeeded, len(d.Hosts))
		return
	}
	d.Status = "Failed"
	d.Message = fmt.Sprintf("%d of %d hosts failed (%s needs %d healthy)", failed, len(d.Hosts), d.Config, max(d.Plan.MinHealthy, 1))
}

// putEnded stores d, which has just failed or stopped (the way event
// says), and, when its group rolls back on event and has a revision that
// succeeded before, the rollback deployment of that revision, in one
// transaction: d is never stored ended without its rollback
// (rollbackDeploymentId and "; rolling back to …" in its message, as
// CodeDeploy's rollbackInfo), whoever reads it and whenever the server
// stops. A rollback that fails does not roll back again. The caller holds
// lockDeployments, so the revision read here is the one d was worked out
// from; the rollback is planned without the lock's other users
// (Deployments, startDeployment), which would deadlock.
func (s *Service) putEnded(ctx context.Context, d *Deployment, event string) error {
	rb, prev, err := s.planRollback(ctx, d, event)
	if err != nil {
		return err
	}
	if rb == nil {
		return s.putDeployment(ctx, *d, false)
	}
	d.RolledBack = rb.ID
	d.Message += "; rolling back to " + prev
	failed, err := deploymentDefinition(*d)
	if err != nil {
		return err
	}
	created, err := deploymentDefinition(*rb)
	if err != nil {
		return err
	}
	err = s.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		cur, err := tx.Definition(ctx, store.KindDeployment, d.ID)
		if err != nil {
			return err
		}
		if err := tx.PutDefinition(ctx, created); err != nil {
			return err
		}
		failed.Revision = cur.Revision
		return tx.PutDefinition(ctx, failed)
	})
	if err != nil {
		d.RolledBack = ""
		return fmt.Errorf("end deployment %s with its rollback %s: %w", d.ID, rb.ID, err)
	}
	return nil
}

// planRollback works out the rollback of d, which ended by event: a
// deployment of the revision of the group's last deployment that
// succeeded, and that deployment's id; nil when the group does not roll
// back on event, d is a rollback itself, or nothing succeeded before. A
// rollback that cannot start (no live agent) is said in d's message and
// is nil too.
func (s *Service) planRollback(ctx context.Context, d *Deployment, event string) (*Deployment, string, error) {
	info, err := s.DeployGroup(ctx, d.Application, d.Group)
	if err != nil || !info.Group.RollsBackOn(event) || d.RollbackOf != "" {
		return nil, "", nil // deleted group, no rollback configured, or a rollback that failed
	}
	rows, err := s.store.Definitions(ctx, store.KindDeployment)
	if err != nil {
		return nil, "", err
	}
	var prev *Deployment
	for _, r := range rows {
		var o Deployment
		if err := json.Unmarshal(r.Document, &o); err != nil {
			return nil, "", fmt.Errorf("decode deployment %s: %w", r.Name, err)
		}
		if o.Application != d.Application || o.Group != d.Group || o.Status != "Succeeded" || o.ID == d.ID {
			continue
		}
		if prev == nil || o.Created.After(prev.Created) {
			prev = &o
		}
	}
	if prev == nil {
		return nil, "", nil
	}
	rb, err := s.planDeployment(ctx, info.Group, Deployment{
		ID: d.ID + "-rollback", Revision: prev.Revision, SHA256: prev.SHA256, RollbackOf: d.ID, Creator: "rollback of " + d.ID,
		Region: d.Region,
	})
	if err != nil {
		d.Message += "; rollback not started: " + err.Error()
		return nil, "", nil
	}
	return &rb, prev.ID, nil
}

// WaitDeployment waits until deployment id has ended, or ctx ends.
func (s *Service) WaitDeployment(ctx context.Context, id string, poll time.Duration) (Deployment, error) {
	for {
		ch := s.changed.wait()
		d, err := s.GetDeployment(ctx, id)
		if err != nil || d.Finished() {
			return d, err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return d, ctx.Err()
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// WaitHostDeployment is ClaimHostDeployment held open for up to wait until
// there is one, as the job protocol's claim is.
func (s *Service) WaitHostDeployment(ctx context.Context, a DeployAgent, wait time.Duration) (*HostTask, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.changed.wait()
		task, err := s.ClaimHostDeployment(ctx, a)
		if task != nil || err != nil {
			return task, err
		}
		if done, err := s.sleep(ctx, ch, deadline.C); done || err != nil {
			return nil, err
		}
	}
}

// The CodeDeploy action's worker creates and follows its deployment over
// the job protocol: the application and group are its job's configuration,
// never the request's, so a worker can deploy only what a pipeline it runs
// a job of declares.

// jobCreator names the action a deployment was made for.
func jobCreator(j engine.Job) string {
	return "pipeline/" + j.Pipeline + "/" + j.ExecutionID + "/" + j.Stage + "/" + j.Action
}

// CreateJobDeployment deploys the revision for a CodeDeploy job the worker holds.
func (s *Service) CreateJobDeployment(ctx context.Context, jobID, worker string, revision io.Reader) (Deployment, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return Deployment{}, err
	}
	if j.ActionType.Provider != "CodeDeploy" {
		return Deployment{}, Errorf(CodeForbidden, "job %s is a %s action's, not a CodeDeploy action's", jobID, j.ActionType.Provider)
	}
	app, group := j.Configuration["ApplicationName"], j.Configuration["DeploymentGroupName"]
	return s.createDeployment(ctx, app, group, jobCreator(j), s.jobRegion(j), revision)
}

// JobDeployment returns a deployment made for a job the worker holds.
func (s *Service) JobDeployment(ctx context.Context, jobID, worker, id string) (Deployment, error) {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return Deployment{}, err
	}
	d, err := s.GetDeployment(ctx, id)
	if err != nil {
		return d, err
	}
	if d.Creator != jobCreator(j) {
		return Deployment{}, Errorf(CodeForbidden, "deployment %s was not made for job %s", id, jobID)
	}
	return d, nil
}
