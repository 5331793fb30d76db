package api

import (
	"io"
	"net/http"
	"time"

	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) deploymentRoutes() {
	s.handle("POST /api/v1/deployments", "CreateDeployment", resDeployTarget, s.createDeployment)
	s.handle("GET /api/v1/deployments", "ListDeployments", resAll, s.listDeployments)
	s.handle("GET /api/v1/deployments/{id}", "GetDeployment", resDeployment, s.getDeployment)
	s.handle("POST /api/v1/jobs/{id}/deployments", "CreateJobDeployment", resJob, s.createJobDeployment)
	s.handle("GET /api/v1/jobs/{id}/deployments/{deployment}", "GetJobDeployment", resJob, s.getJobDeployment)
	s.handle("GET /api/v1/agents", "ListDeploymentAgents", resAll, s.listAgents)
	s.handle("POST /api/v1/agents/{agent}/claim", "PollForDeployments", resAgent, s.agentClaim)
	s.handle("GET /api/v1/agents/{agent}/deployments/{id}/revision", "GetDeploymentRevision", resAgent, s.agentRevision)
	s.handle("POST /api/v1/agents/{agent}/deployments/{id}/result", "PutDeploymentHostResult", resAgent, s.agentResult)
	// An admin's: an agent's pinned group and tags (service/agentregistration.go).
	s.handle("PUT /api/v1/agents/{agent}/registration", "RegisterOnPremisesInstance", resAgent, s.registerAgent)
	s.handle("DELETE /api/v1/agents/{agent}/registration", "DeregisterOnPremisesInstance", resAgent, s.deregisterAgent)
}

// resDeployTarget is deploymentgroup/APP/GROUP of ?application=&group=.
func resDeployTarget(r *http.Request) (string, error) {
	app, group := r.URL.Query().Get("application"), r.URL.Query().Get("group")
	for w, v := range map[string]string{"application": app, "group": group} {
		if err := pipeline.CheckName(v); err != nil {
			return "", service.Errorf(service.CodeInvalid, "%s: %v", w, err)
		}
	}
	return "deploymentgroup/" + deploygroup.Key(app, group), nil
}

var (
	resDeployment = pathResource("deployment", "id")
	resAgent      = pathResource("agent", "agent")
)

// maxRevision bounds a revision uploaded to create a deployment.
const maxRevision = 1 << 30

func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxRevision)
	d, err := s.svc.CreateDeployment(r.Context(), r.URL.Query().Get("application"), r.URL.Query().Get("group"), "api", body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, deploymentView(d))
}

func deploymentView(d service.Deployment) wire.Deployment {
	v := wire.Deployment{
		ID: d.ID, Application: d.Application, Group: d.Group, Config: d.Config, Status: d.Status, Message: d.Message,
		SHA256: d.SHA256, RollbackOf: d.RollbackOf, RolledBack: d.RolledBack, Creator: d.Creator,
		Batch: d.Plan.Batch, MinHealthy: d.Plan.MinHealthy, Created: d.Created, Updated: d.Updated, Hosts: []wire.DeploymentHost{},
	}
	for _, h := range d.Hosts {
		wh := wire.DeploymentHost{Agent: h.Agent, Status: h.Status, Message: h.Message, Events: hostEventsView(h.Events)}
		if !h.Started.IsZero() {
			wh.Started = &h.Started
		}
		if !h.Finished.IsZero() {
			wh.Finished = &h.Finished
		}
		v.Hosts = append(v.Hosts, wh)
	}
	return v
}

func hostEventsView(es []service.HostEvent) []wire.HostEvent {
	var out []wire.HostEvent
	for _, e := range es {
		out = append(out, wire.HostEvent(e))
	}
	return out
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.svc.Deployments(r.Context(), r.URL.Query().Get("application"), r.URL.Query().Get("group"))
	if err != nil {
		return err
	}
	out := struct {
		Deployments []wire.Deployment `json:"deployments"`
	}{Deployments: []wire.Deployment{}}
	for _, d := range ds {
		out.Deployments = append(out.Deployments, deploymentView(d))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.GetDeployment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deploymentView(d))
}

func (s *Server) agentClaim(w http.ResponseWriter, r *http.Request) error {
	var req wire.AgentClaim
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.WaitSeconds < 0 || req.WaitSeconds > 60 {
		return service.Errorf(service.CodeInvalid, "waitSeconds: must be from 0 to 60")
	}
	a := service.DeployAgent{ID: r.PathValue("agent"), Group: req.Group, Tags: req.Tags}
	task, err := s.svc.WaitHostDeployment(r.Context(), a, time.Duration(req.WaitSeconds)*time.Second)
	if err != nil {
		return err
	}
	if task == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeJSON(w, http.StatusOK, wire.HostTask{
		DeploymentID: task.DeploymentID, Application: task.Application, Group: task.Group, GroupID: task.GroupID,
		Traffic: task.Traffic, SHA256: task.SHA256, LeaseUntil: task.LeaseUntil, HeartbeatSeconds: s.svc.Lease().Seconds() / 3,
	})
}

func (s *Server) agentRevision(w http.ResponseWriter, r *http.Request) error {
	rc, err := s.svc.HostRevision(r.Context(), r.PathValue("id"), r.PathValue("agent"))
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/zip")
	_, err = io.Copy(w, rc)
	return err
}

func (s *Server) agentResult(w http.ResponseWriter, r *http.Request) error {
	var req wire.HostResult
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Heartbeat {
		until, err := s.svc.HostHeartbeat(r.Context(), r.PathValue("id"), r.PathValue("agent"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, wire.HostTask{DeploymentID: r.PathValue("id"), LeaseUntil: until})
	}
	var events []service.HostEvent
	for _, e := range req.Events {
		events = append(events, service.HostEvent(e))
	}
	if err := s.svc.HostResult(r.Context(), r.PathValue("id"), r.PathValue("agent"), req.Succeeded, req.Message, events); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	as, err := s.svc.DeployAgents(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Agents []wire.Agent `json:"agents"`
	}{Agents: []wire.Agent{}}
	for _, a := range as {
		out.Agents = append(out.Agents, wire.Agent{ID: a.ID, Group: a.Group, Tags: a.Tags, LastSeen: a.LastSeen})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) registerAgent(w http.ResponseWriter, r *http.Request) error {
	var req wire.AgentRegistration
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.svc.SetAgentRegistration(r.Context(), service.DeployAgent{ID: r.PathValue("agent"), Group: req.Group, Tags: req.Tags})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.Agent{ID: a.ID, Group: a.Group, Tags: a.Tags, LastSeen: a.LastSeen})
}

func (s *Server) deregisterAgent(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeregisterAgent(r.Context(), r.PathValue("agent")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createJobDeployment(w http.ResponseWriter, r *http.Request) error {
	body := http.MaxBytesReader(w, r.Body, maxRevision)
	d, err := s.svc.CreateJobDeployment(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), body)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, deploymentView(d))
}

func (s *Server) getJobDeployment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.JobDeployment(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), r.PathValue("deployment"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deploymentView(d))
}
