package api

import (
	"io"
	"net/http"

	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

func (s *Server) functionRoutes() {
	s.handle("POST /api/v1/functions", "PutFunction", resDeclaredFunction, s.applyFunction)
	s.handle("GET /api/v1/functions", "ListFunctions", resAll, s.listFunctions)
	s.handle("GET /api/v1/functions/{name}", "GetFunction", resFunction, s.getFunction)
	s.handle("DELETE /api/v1/functions/{name}", "DeleteFunction", resFunction, s.deleteFunction)
}

// resDeclaredFunction is function/NAME of the function a PutFunction body
// defines.
var resDeclaredFunction = bodyResource("function", maxPipelineFile, func(r *http.Request, data []byte) (string, error) {
	f, err := function.Parse(fileName(r, "function"), data)
	if err != nil {
		return "", service.Errorf(service.CodeInvalid, "%s", err.Error())
	}
	return f.Name, nil
})

func (s *Server) applyFunction(w http.ResponseWriter, r *http.Request) error {
	filename := r.URL.Query().Get("filename")
	if filename == "" {
		filename = "function"
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxPipelineFile+1))
	if err != nil {
		return service.Errorf(service.CodeInvalid, "read request body: %v", err)
	}
	if len(data) > maxPipelineFile {
		return service.Errorf(service.CodeInvalid, "%s: larger than %d bytes", filename, maxPipelineFile)
	}
	// A function with a role gets AWS credentials of that role when it
	// runs: applying it hands the role on, which only a caller holding all
	// of it may.
	if f, err := function.Parse(filename, data); err == nil {
		p := caller(r)
		if err := s.svc.CheckFunctionRole(r.Context(), p.Policy, p.Name, *f); err != nil {
			return err
		}
	}
	res, err := s.svc.ApplyFunction(r.Context(), filename, data)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.FunctionApplyResult{
		Name: res.Name, Created: res.Created, Changed: res.Changed, Function: functionView(res.Info),
	})
}

func functionView(info service.FunctionInfo) wire.Function {
	f := info.Function
	return wire.Function{
		Name: f.Name, Command: f.Command, URL: f.URL, Environment: f.Environment, WorkingDirectory: f.WorkingDirectory,
		TimeoutInMinutes: f.TimeoutInMinutes, Role: f.Role, Created: info.Created, Updated: info.Updated,
	}
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) error {
	fns, err := s.svc.Functions(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Functions []wire.Function `json:"functions"`
	}{Functions: []wire.Function{}}
	for _, f := range fns {
		out.Functions = append(out.Functions, functionView(f))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	info, err := s.svc.Function(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, functionView(info))
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteFunction(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
