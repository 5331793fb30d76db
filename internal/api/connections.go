package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/connection"
	"github.com/sluice-ci/sluice/internal/service"
)

func (s *Server) connectionRoutes() {
	s.handle("POST /api/v1/connections", "PutConnection", resDeclaredConnection, s.applyConnection)
	s.handle("GET /api/v1/connections", "ListConnections", resAll, s.listConnections)
	s.handle("GET /api/v1/connections/{name}", "GetConnection", resConnection, s.getConnection)
	s.handle("DELETE /api/v1/connections/{name}", "DeleteConnection", resConnection, s.deleteConnection)
	// The job protocol: the connection a held job uses, with its keys; "-"
	// for the one its action's region picks (no connection's name).
	s.handle("GET /api/v1/jobs/{id}/connections/{name}", "GetJobConnection", resJob, s.jobConnection)
	// The git host connection a held connection source job reads its
	// repository through, with the token; the server resolves which from
	// the job's own configuration.
	s.handle("GET /api/v1/jobs/{id}/git-connection", "GetJobGitConnection", resJob, s.jobGitConnection)
}

var (
	resConnection = pathResource("connection", "name")
	// resDeclaredConnection is connection/NAME of the connection a
	// PutConnection body defines.
	resDeclaredConnection = bodyResource("connection", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
		c, err := connection.Parse(fileName(r, "connection"), data)
		if err != nil {
			return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
		}
		return c.Name, nil
	})
)

func (s *Server) applyConnection(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "connection"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	res, err := s.svc.ApplyConnection(r.Context(), filename, data)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.ConnectionApplyResult{
		Name: res.Name, Created: res.Created, Changed: res.Changed, Connection: connectionView(res.Info),
	})
}

// connectionView is a connection as the API shows it: the definition holds
// a secret's name, never its value.
func connectionView(info service.ConnectionInfo) client.Connection {
	c := info.Connection
	out := client.Connection{
		Name: c.Name, Kind: c.Kind, Region: c.Region, Endpoint: c.Endpoint, Endpoints: c.Endpoints,
		S3PathStyle: c.S3PathStyle, Bucket: c.Bucket,
		Credentials: client.ConnectionCredentials{Secret: c.Credentials.Secret, FromWorker: c.Credentials.FromWorker},
		Created:     info.Created, Updated: info.Updated,
	}
	if r := c.Role; r != nil {
		out.Role = &awsconn.Role{ARN: r.ARN, ExternalID: r.ExternalID, SessionName: r.SessionName, DurationSeconds: r.DurationSeconds}
	}
	return out
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) error {
	all, err := s.svc.Connections(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Connections []client.Connection `json:"connections"`
	}{Connections: []client.Connection{}}
	for _, c := range all {
		out.Connections = append(out.Connections, connectionView(c))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.Connection(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, connectionView(info))
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteConnection(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) jobConnection(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if name == client.RegionConnection {
		name = ""
	}
	g, err := s.svc.JobConnection(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"), name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, g)
}

func (s *Server) jobGitConnection(w http.ResponseWriter, r *http.Request) error {
	g, err := s.svc.JobGitConnection(r.Context(), r.PathValue("id"), r.URL.Query().Get("workerId"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, g)
}
