package ui

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// Changes: each a POSTed form, checked (session, CSRF, permission) by the
// router before it gets here. Without JavaScript the browser is sent back to
// the page the form names; with it, the script gets the message as JSON.

func pipelinePath(name string) string { return urlPath(Prefix+"pipelines", name) }

func backTo(r *http.Request, fallback string) string {
	if b := r.PostFormValue("back"); b != "" {
		return b
	}
	return fallback
}

// maxFormBytes bounds a form's body.
const maxFormBytes = 64 << 10

// parseForm reads a POSTed form, bounded; the router does it before the
// CSRF check, which reads the form's token.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return errorf(service.CodeInvalid, "the form could not be read: %v", err)
	}
	return nil
}

func (s *Server) start(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	p, err := s.svc.Pipeline(r.Context(), name)
	if err != nil {
		return err
	}
	// Variables come as var.NAME fields; only those that differ from the
	// default are passed, so the execution records what was chosen.
	vars := map[string]string{}
	for _, v := range p.Declaration.Variables {
		if val, ok := r.PostForm["var."+v.Name]; ok && len(val) > 0 && val[0] != v.DefaultValue {
			vars[v.Name] = val[0]
		}
	}
	for k := range r.PostForm {
		if n, ok := strings.CutPrefix(k, "var."); ok && !declares(p.Declaration.Variables, n) {
			return errorf(service.CodeInvalid, "pipeline %s declares no variable %s", name, n)
		}
	}
	e, err := s.svc.StartExecution(r.Context(), service.StartRequest{
		Pipeline: name, Variables: vars,
		Trigger: engine.Trigger{Type: "StartPipelineExecution", Detail: c.who.Name},
	})
	if err != nil {
		return err
	}
	return s.changed(w, r, c, "Started execution "+e.ID+" of "+name+".", backTo(r, pipelinePath(name)))
}

func declares(vs []pipeline.Variable, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id := r.PathValue("name"), r.PathValue("id")
	var abandon bool
	switch m := r.PostFormValue("mode"); m {
	case "", "wait":
	case "abandon":
		abandon = true
	default:
		return errorf(service.CodeInvalid, "mode: %q is not wait or abandon", m)
	}
	if err := s.svc.StopExecution(r.Context(), name, id, abandon, r.PostFormValue("reason")); err != nil {
		return err
	}
	how := "Stopping execution " + id + ": running actions finish."
	if abandon {
		how = "Stopping execution " + id + ": running actions are abandoned."
	}
	return s.changed(w, r, c, how, backTo(r, pipelinePath(name)))
}

func (s *Server) retry(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id, stage := r.PathValue("name"), r.PathValue("id"), r.PostFormValue("stage")
	if stage == "" {
		return errorf(service.CodeInvalid, "stage: required")
	}
	all := r.PostFormValue("actions") == "all"
	if err := s.svc.RetryStage(r.Context(), name, id, stage, all); err != nil {
		return err
	}
	what := "failed actions"
	if all {
		what = "all actions"
	}
	return s.changed(w, r, c, "Retrying the "+what+" of stage "+stage+".", backTo(r, pipelinePath(name)))
}

// overrideCondition ends a stage condition's evaluation as if it were met.
func (s *Server) overrideCondition(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id, stage, kind := r.PathValue("name"), r.PathValue("id"), r.PostFormValue("stage"), r.PostFormValue("kind")
	if stage == "" {
		return errorf(service.CodeInvalid, "stage: required")
	}
	if err := s.svc.OverrideStageCondition(r.Context(), name, stage, id, kind, c.who.Name); err != nil {
		return err
	}
	return s.changed(w, r, c, "The "+kind+" condition of stage "+stage+" was overridden.", backTo(r, pipelinePath(name)))
}

func (s *Server) enableTransition(w http.ResponseWriter, r *http.Request, c *call) error {
	name, stage := r.PathValue("name"), r.PathValue("stage")
	if err := s.svc.SetTransition(r.Context(), name, stage, true, "", c.who.Name); err != nil {
		return err
	}
	return s.changed(w, r, c, "Enabled the transition into "+stage+".", backTo(r, pipelinePath(name)))
}

func (s *Server) disableTransition(w http.ResponseWriter, r *http.Request, c *call) error {
	name, stage := r.PathValue("name"), r.PathValue("stage")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if err := s.svc.SetTransition(r.Context(), name, stage, false, reason, c.who.Name); err != nil {
		return err
	}
	return s.changed(w, r, c, "Disabled the transition into "+stage+".", backTo(r, pipelinePath(name)))
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	var approved bool
	switch res := r.PostFormValue("result"); res {
	case "Approved":
		approved = true
	case "Rejected":
	default:
		return errorf(service.CodeInvalid, "result: %q is not Approved or Rejected", res)
	}
	stage, action := r.PostFormValue("stage"), r.PostFormValue("actionName")
	err := s.svc.PutApprovalResult(r.Context(), service.ApprovalAnswer{
		Pipeline: name, Stage: stage, Action: action, Token: r.PostFormValue("token"),
		Approved: approved, Summary: strings.TrimSpace(r.PostFormValue("comment")), Principal: c.who.Name,
	})
	if err != nil {
		return err
	}
	verb := "Approved"
	if !approved {
		verb = "Rejected"
	}
	return s.changed(w, r, c, verb+" "+stage+"/"+action+".", backTo(r, pipelinePath(name)))
}

// artifact sends an artifact an execution produced, as a zip file.
func (s *Server) artifact(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id, art := r.PathValue("name"), r.PathValue("id"), r.PathValue("artifact")
	rc, err := s.svc.OpenArtifact(r.Context(), name, id, art)
	if errors.Is(err, artifact.ErrNotFound) {
		return errorf(service.CodeNotFound, "artifact %s is missing from the artifact store", art)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	file := slug(art) + ".zip"
	if rc.Failed {
		file = slug(art) + "-failed-attempt-" + strconv.Itoa(rc.Attempt) + ".zip"
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	_, _ = io.Copy(w, rc)
	return nil
}
