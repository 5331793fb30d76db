package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) projectRoutes() {
	s.handle("POST /api/v1/projects", "PutProject", resDeclaredProject, s.putProject)
	s.handle("GET /api/v1/projects", "ListProjects", resAll, s.listProjects)
	s.handle("GET /api/v1/projects/{name}", "GetProject", resProject, s.getProject)
	s.handle("DELETE /api/v1/projects/{name}", "DeleteProject", resProject, s.deleteProject)
}

// resDeclaredProject is project/NAME of the build project a PutProject body
// defines.
var resDeclaredProject = bodyResource("project", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	p, err := buildproject.Parse(fileName(r, "project"), data)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return p.Name, nil
})

func (s *Server) putProject(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "project"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	p, err := buildproject.Parse(filename, data)
	if err != nil {
		return service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	// A project's builds get the secrets its role allows (without one, the
	// building pipeline's): applying it hands a role on, the default one
	// (iam.PolicyDefaultPipeline) when it names none, since its buildspec
	// sees whatever secrets the pipeline's role gives.
	if p.ServiceRole, err = s.svc.ResolveRole(r.Context(), p.ServiceRole); err != nil {
		return err
	}
	c := caller(r)
	if err := s.svc.CheckPassRole(r.Context(), c.Policy, c.Name, "project "+p.Name, p.ServiceRole); err != nil {
		return err
	}
	if err := s.svc.PutProject(r.Context(), p); err != nil {
		return err
	}
	info, err := s.svc.Project(r.Context(), p.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(info))
}

func projectView(info service.ProjectInfo) wire.Project {
	p := info.Project
	out := wire.Project{
		Name: p.Name, Description: p.Description, Buildspec: p.Buildspec,
		EnvironmentVariables: []wire.EnvironmentVariable{},
		TimeoutInMinutes:     p.TimeoutInMinutes, Isolation: p.Isolation, Network: p.Network,
		ServiceRole: p.ServiceRole, Connection: p.Connection,
		Created: info.Created, Updated: info.Updated,
	}
	for _, v := range p.EnvironmentVariables {
		out.EnvironmentVariables = append(out.EnvironmentVariables, wire.EnvironmentVariable{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	return out
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	projects, err := s.svc.Projects(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Projects []wire.Project `json:"projects"`
	}{Projects: []wire.Project{}}
	for _, p := range projects {
		out.Projects = append(out.Projects, projectView(p))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.Project(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(info))
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteProject(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
