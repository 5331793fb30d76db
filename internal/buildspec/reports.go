package buildspec

import (
	"fmt"
	"io"

	"github.com/sluice-ci/sluice/internal/report"
)

// GroupReport is the reports of one report group of a build, merged.
type GroupReport struct {
	Group  string
	Report *report.Report
}

// ReadReports reads the reports section's files from the build's directory
// dir once the build is over, as CodeBuild does: each group's files are
// parsed in their format and merged into one report, whose summary is
// logged. A file that cannot be read or parsed is logged and left out; a
// group with no report is left out.
func ReadReports(spec *Spec, dir string, log io.Writer) []GroupReport {
	var out []GroupReport
	for _, g := range spec.Reports {
		files, err := Artifact{Files: g.Files, BaseDirectory: g.BaseDirectory}.Collect(dir)
		if err != nil {
			fmt.Fprintf(log, "[Container] report group %s: %v\n", g.Name, err)
			continue
		}
		var parts []*report.Report
		for _, f := range files {
			r, err := parseReportFile(report.Format(g.FileFormat), f)
			if err != nil {
				fmt.Fprintf(log, "[Container] report group %s: %v\n", g.Name, err)
				continue
			}
			parts = append(parts, r)
		}
		if len(parts) == 0 {
			continue
		}
		merged := report.Merge(parts...)
		fmt.Fprintf(log, "[Container] report group %s: %s\n", g.Name, merged.Summary())
		out = append(out, GroupReport{Group: g.Name, Report: merged})
	}
	return out
}

func parseReportFile(format report.Format, f ArtifactFile) (*report.Report, error) {
	// Open never follows a link out of the workspace: a report "file" that
	// links to /etc/shadow is not read by the worker.
	in, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return report.Parse(format, f.Name, in)
}
