package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-ci/sluice/internal/report"
	"github.com/sluice-ci/sluice/internal/store"
)

// maxReport bounds one report document as a worker sends it: the parsers keep
// at most 100,000 cases with their texts capped, so this is generous.
const maxReport = 64 << 20

// ActionReport is one report group's test report of one action.
type ActionReport struct {
	Stage  string         `json:"stage"`
	Action string         `json:"action"`
	Group  string         `json:"reportGroup"`
	Report *report.Report `json:"report"`
}

// PutReport keeps a test report a worker parsed for a job it holds.
func (s *Service) PutReport(ctx context.Context, jobID, worker, group string, raw []byte) error {
	j, err := s.heldJob(ctx, jobID, worker)
	if err != nil {
		return err
	}
	if group == "" || len(group) > 128 {
		return Errorf(CodeInvalid, "reportGroup: 1 to 128 characters")
	}
	if len(raw) > maxReport {
		return Errorf(CodeInvalid, "report: larger than %d bytes", maxReport)
	}
	var r report.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return Errorf(CodeInvalid, "report: %v", err)
	}
	return s.store.PutReport(ctx, store.Report{
		JobID: jobID, Group: group, ExecutionID: j.ExecutionID, Stage: j.Stage, Action: j.Action,
		Document: raw, Created: s.now(),
	})
}

// Reports lists the test reports of an execution, of one action ("" for all;
// ACTION or STAGE/ACTION).
func (s *Service) Reports(ctx context.Context, name, executionID, action string) ([]ActionReport, error) {
	e, err := s.Execution(ctx, name, executionID)
	if err != nil {
		return nil, err
	}
	stage := ""
	if action != "" {
		st, a, err := FindAction(e, action)
		if err != nil {
			return nil, err
		}
		stage, action = st.Name, a.Decl.Name
	}
	rows, err := s.store.Reports(ctx, executionID)
	if err != nil {
		return nil, err
	}
	out := []ActionReport{}
	for _, r := range rows {
		if action != "" && (r.Stage != stage || r.Action != action) {
			continue
		}
		ar := ActionReport{Stage: r.Stage, Action: r.Action, Group: r.Group}
		if err := json.Unmarshal(r.Document, &ar.Report); err != nil {
			return nil, fmt.Errorf("decode report %s of job %s: %w", r.Group, r.JobID, err)
		}
		out = append(out, ar)
	}
	return out, nil
}
