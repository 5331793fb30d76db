package wire

import (
	"github.com/sluice-ci/sluice/internal/report"
)

// ActionReport is one report group's test report of one action.
type ActionReport struct {
	Stage  string         `json:"stage"`
	Action string         `json:"action"`
	Group  string         `json:"reportGroup"`
	Report *report.Report `json:"report"`
}
