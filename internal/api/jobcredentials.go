package api

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/wire"
)

// jobCredentials makes the AWS credentials of the function a job invokes,
// for the worker that runs it to give the function's process (asked with
// the job's token; see service.JobFunctionCredentials).
func (s *Server) jobCredentials(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.JobFunctionCredentials(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := wire.AWSCredentials{Region: s.svc.AWS().Region}
	if c != nil {
		out.AccessKeyID, out.SecretAccessKey = c.AccessKeyID, c.SecretAccessKey
	}
	return writeJSON(w, http.StatusOK, out)
}
