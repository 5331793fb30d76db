package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/deploygroup"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) deployGroupRoutes() {
	s.handle("POST /api/v1/deployment-groups", "PutDeploymentGroup", resDeclaredDeployGroup, s.applyDeployGroup)
	s.handle("GET /api/v1/deployment-groups", "ListDeploymentGroups", resAll, s.listDeployGroups)
	s.handle("GET /api/v1/deployment-groups/{app}/{name}", "GetDeploymentGroup", resDeployGroup, s.getDeployGroup)
	s.handle("DELETE /api/v1/deployment-groups/{app}/{name}", "DeleteDeploymentGroup", resDeployGroup, s.deleteDeployGroup)
}

// resDeployGroup is deploymentgroup/APP/GROUP, from the path.
func resDeployGroup(r *http.Request) (string, error) {
	for _, w := range []string{"app", "name"} {
		if err := pipeline.CheckName(r.PathValue(w)); err != nil {
			return "", service.Errorf(service.CodeInvalid, "%s: %v", w, err)
		}
	}
	return "deploymentgroup/" + deploygroup.Key(r.PathValue("app"), r.PathValue("name")), nil
}

// resDeclaredDeployGroup is deploymentgroup/APP/GROUP of the group a body
// defines.
var resDeclaredDeployGroup = bodyResource("deploymentgroup", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	g, err := deploygroup.Parse(fileName(r, "deployment group"), data)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return g.Key(), nil
})

func (s *Server) applyDeployGroup(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "deployment group"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	// The server reads the group's alarms through its connections: only
	// someone who may use a connection may have the server use it.
	if g, err := deploygroup.Parse(filename, data); err == nil {
		for _, name := range g.Connections() {
			if name == "" {
				name = service.DefaultConnection
			}
			if p, ok := r.Context().Value(callerKey{}).(access.Principal); ok {
				if err := p.Authorize("UseConnection", "connection/"+name); err != nil {
					return service.Errorf(service.CodeForbidden, "alarmConfiguration: %s", service.ErrorMessage(err))
				}
			}
		}
	}
	res, err := s.svc.ApplyDeployGroup(r.Context(), filename, data)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.DeployGroupApplyResult{Created: res.Created, Changed: res.Changed, Group: deployGroupView(res.Info)})
}

func deployGroupView(info service.DeployGroupInfo) wire.DeployGroup {
	g := info.Group
	v := wire.DeployGroup{
		Application: g.Application, Name: g.Name, AgentGroup: g.AgentGroup, Tags: g.Tags, Config: g.Config,
		AutoRollback: g.AutoRollback.Enabled, RollbackEvents: g.AutoRollback.Events, ShiftsTraffic: g.ShiftsTraffic,
		AlarmConnection: g.Alarms.Connection, Created: info.Created, Updated: info.Updated,
	}
	for _, c := range g.Checks() {
		v.Watches = append(v.Watches, c.Name)
	}
	if m := g.MinimumHealthyHosts; m != nil {
		v.MinimumHealthyType, v.MinimumHealthyValue = m.Type, m.Value
	}
	return v
}

func (s *Server) listDeployGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.DeployGroups(r.Context(), r.URL.Query().Get("application"))
	if err != nil {
		return err
	}
	out := struct {
		Groups []wire.DeployGroup `json:"deploymentGroups"`
	}{Groups: []wire.DeployGroup{}}
	for _, g := range gs {
		out.Groups = append(out.Groups, deployGroupView(g))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDeployGroup(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.DeployGroup(r.Context(), r.PathValue("app"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deployGroupView(info))
}

func (s *Server) deleteDeployGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteDeployGroup(r.Context(), r.PathValue("app"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
