package ui

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/report"
	"github.com/sluice-ci/sluice/internal/service"
)

// logPage is an action's log, cut into the build's phases, and its test
// reports.
type logPage struct {
	Pipeline, ExecutionID, Stage, Action string
	Execution                            *engine.Execution
	View                                 actionView
	Sections                             []logSection
	Offset                               int64 // where the log continues
	Done                                 bool  // nothing more will come
	Truncated                            bool  // more was there than one page shows
	Reports                              []reportView
	CanReports                           bool
}

func (l logPage) navKey() string  { return "pipelines" }
func (l logPage) liveURL() string { return "" } // the log follows itself (see app.js)

// logSection is a phase of a build's log (or the whole log of an action
// that has no phases).
type logSection struct {
	Name   string // the phase: INSTALL, BUILD, …; "" before the first
	Status string // SUCCEEDED or FAILED once the phase completed
	Text   string
}

type reportView struct {
	Group  string
	Report *report.Report
	Failed []report.TestCase // failures and errors first, with their messages
	Others []report.TestCase
	More   int // cases not shown
}

// maxCasesShown bounds the cases a report table shows.
const maxCasesShown = 500

var (
	ansi        = lazyregexp.New("\x1b\\[[0-9;?]*[ -/]*[@-~]")
	phaseStart  = lazyregexp.New(`^(?:\[[^\]]+\] )?\[Container\] \S+ \S+ Entering phase (\S+)`)
	phaseFinish = lazyregexp.New(`^(?:\[[^\]]+\] )?\[Container\] \S+ \S+ Phase complete: (\S+) State: (\S+)`)
)

// splitPhases cuts a log at CodeBuild's "Entering phase" markers.
func splitPhases(text string) []logSection {
	var out []logSection
	cur := logSection{}
	var b strings.Builder
	flush := func() {
		cur.Text = b.String()
		if cur.Name != "" || cur.Text != "" {
			out = append(out, cur)
		}
		b.Reset()
	}
	for line := range strings.SplitAfterSeq(text, "\n") {
		if m := phaseStart.FindStringSubmatch(line); m != nil {
			if m[1] != cur.Name || cur.Status != "" {
				flush()
				cur = logSection{Name: m[1]}
			}
		}
		b.WriteString(line)
		if m := phaseFinish.FindStringSubmatch(line); m != nil && m[1] == cur.Name {
			cur.Status = m[2]
		}
	}
	flush()
	return out
}

func cleanLog(data []byte) string {
	s := string(data)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return ansi.ReplaceAllString(s, "")
}

// logWait caps how long a follower's request waits for more of a log.
const logWait = 25 * time.Second

func (s *Server) logPage(w http.ResponseWriter, r *http.Request, c *call) error {
	name, id, stage, action := r.PathValue("name"), r.PathValue("id"), r.PathValue("stage"), r.PathValue("action")
	q := r.URL.Query()
	var offset int64
	if v := q.Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(service.CodeInvalid, "offset: %q is not a byte offset", v)
		}
		offset = n
	}
	if q.Get("raw") != "" {
		// The follower: the next piece of the log, waiting for it while the
		// action runs.
		var wait time.Duration
		if q.Get("wait") != "" {
			wait = logWait
		}
		l, err := s.svc.ActionLog(r.Context(), name, id, stage+"/"+action, offset, wait)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Sluice-Log-Done", strconv.FormatBool(l.Done))
		h.Set("X-Sluice-Log-Next", strconv.FormatInt(l.Offset+int64(len(l.Data)), 10))
		w.Write([]byte(cleanLog(l.Data)))
		return nil
	}
	e, err := s.svc.Execution(r.Context(), name, id)
	if err != nil {
		return err
	}
	st, a, err := service.FindAction(e, stage+"/"+action)
	if err != nil {
		return err
	}
	page := logPage{Pipeline: name, ExecutionID: id, Stage: st.Name, Action: a.Decl.Name, Execution: e,
		View: newActionView(name, e, st.Name, *a), CanReports: c.perm.On(actListReports, name)}
	l, err := s.svc.ActionLog(r.Context(), name, id, stage+"/"+action, offset, 0)
	if err != nil {
		return err
	}
	page.Sections = splitPhases(cleanLog(l.Data))
	page.Offset = l.Offset + int64(len(l.Data))
	page.Done = l.Done
	if l.Done && len(l.Data) > 0 {
		// A finished log read in one piece may still have more after it.
		more, err := s.svc.ActionLog(r.Context(), name, id, stage+"/"+action, page.Offset, 0)
		if err == nil && len(more.Data) > 0 {
			page.Truncated, page.Done = true, false
		}
	}
	if page.CanReports {
		reps, err := s.svc.Reports(r.Context(), name, id, stage+"/"+action)
		if err != nil {
			return err
		}
		for _, rep := range reps {
			page.Reports = append(page.Reports, newReportView(rep))
		}
	}
	s.render(w, r, c, "log", stage+"/"+action+" · log", page)
	return nil
}

func newReportView(rep service.ActionReport) reportView {
	rv := reportView{Group: rep.Group, Report: rep.Report}
	if rep.Report == nil {
		return rv
	}
	for _, tc := range rep.Report.Cases {
		if tc.Status == report.Failed || tc.Status == report.Error {
			rv.Failed = append(rv.Failed, tc)
		} else {
			rv.Others = append(rv.Others, tc)
		}
	}
	sort.SliceStable(rv.Others, func(i, j int) bool { return rv.Others[i].Status > rv.Others[j].Status })
	if n := len(rv.Failed) + len(rv.Others); n > maxCasesShown {
		rv.More = n - maxCasesShown
		if len(rv.Failed) > maxCasesShown {
			rv.Failed = rv.Failed[:maxCasesShown]
		}
		rv.Others = rv.Others[:maxCasesShown-len(rv.Failed)]
	}
	return rv
}

func init() {
	funcs["casestatus"] = func(s report.Status) string { return string(s) }
	funcs["ms"] = func(d time.Duration) string {
		if d < time.Second {
			return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
		}
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	}
}
