package report

import (
	"encoding/xml"
	"strings"
)

// trxParser reads Visual Studio TRX: TestRun > Results > UnitTestResult
// with outcome, duration ("hh:mm:ss.fffffff") and Output > StdOut, StdErr,
// ErrorInfo > Message, StackTrace. Data-driven tests nest results under
// InnerResults; only the innermost are counted.
//
// A result names its test by testId; the class and assembly are in
// TestDefinitions > UnitTest > TestMethod, which VS and dotnet test write
// after Results. The parser remembers which kept cases need which id and
// fills them in when the definition comes, so memory follows the kept cases, not
// the file.
type trxParser struct {
	b       *builder
	skip    skipper
	results []*trxResult

	pending map[string][]int  // testId -> indexes in Cases awaiting a definition
	defs    map[string]trxDef // definitions seen before their results
	unit    string            // id of the open UnitTest definition
	unitDef trxDef
}

type trxResult struct {
	id       string
	tc       TestCase
	elem     string
	msg      capped
	stack    capped
	out      capped
	children bool
}

type trxDef struct{ class, suite string }

func (p *trxParser) roots() []string { return []string{"TestRun"} }

// trxResultElements are the result elements of the test types VS knows.
var trxResultElements = map[string]bool{
	"UnitTestResult": true, "TestResultAggregation": true, "GenericTestResult": true,
	"ManualTestResult": true, "WebTestResult": true, "TestResult": true,
}

func (p *trxParser) start(se xml.StartElement) error {
	if p.skip.skipping() {
		p.skip.depth++
		return nil
	}
	name := se.Name.Local
	if trxResultElements[name] {
		if n := len(p.results); n > 0 {
			p.results[n-1].children = true
		}
		r := &trxResult{
			id: attr(se, "testId"),
			tc: TestCase{
				Name:     attr(se, "testName"),
				Status:   trxStatus(attr(se, "outcome")),
				Duration: parseTimeSpan(attr(se, "duration")),
			},
			msg: p.b.text(), stack: p.b.text(), out: p.b.text(),
		}
		p.results = append(p.results, r)
		return nil
	}
	if n := len(p.results); n > 0 {
		switch name {
		case "StdOut", "StdErr", "Message", "StackTrace":
			r := p.results[n-1]
			r.elem = name
			if name == "StdErr" && len(r.out.buf) > 0 {
				r.out.writeString("\n")
			}
		case "DebugTrace", "TraceInfo", "ResultFiles", "CollectorDataEntries":
			p.skip.depth = 1
		}
		return nil
	}
	switch name {
	case "UnitTest":
		p.unit, p.unitDef = attr(se, "id"), trxDef{suite: baseName(attr(se, "storage"))}
	case "TestMethod":
		if p.unit != "" {
			p.unitDef.class = trxClass(attr(se, "className"))
			if cb := attr(se, "codeBase"); cb != "" {
				p.unitDef.suite = baseName(cb)
			}
		}
	case "ResultSummary", "TestSettings", "TestLists", "TestEntries", "Times":
		p.skip.depth = 1
	}
	return nil
}

// trxClass drops the assembly qualification older TRX files add:
// "Ns.Class, Assembly, Version=1.0.0.0".
func trxClass(s string) string {
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func baseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		path = path[i+1:]
	}
	return path
}

func trxStatus(outcome string) Status {
	switch strings.ToLower(outcome) {
	case "passed", "passedbutrunaborted", "completed", "warning":
		return Succeeded
	case "failed":
		return Failed
	case "notexecuted", "notrunnable":
		return Skipped
	case "error", "timeout", "aborted", "disconnected":
		return Error
	}
	return Unknown // Inconclusive, Pending, InProgress
}

func (p *trxParser) end(name string) {
	if p.skip.skipping() {
		p.skip.depth--
		return
	}
	if n := len(p.results); n > 0 {
		r := p.results[n-1]
		if trxResultElements[name] {
			p.results = p.results[:n-1]
			if !r.children {
				p.emit(r)
			}
			return
		}
		if name == r.elem {
			r.elem = ""
		}
		return
	}
	if name == "UnitTest" && p.unit != "" {
		if idx, ok := p.pending[p.unit]; ok {
			for _, i := range idx {
				p.apply(i, p.unitDef)
			}
			delete(p.pending, p.unit)
		} else if len(p.defs) < p.b.maxCases {
			if p.defs == nil {
				p.defs = map[string]trxDef{}
			}
			p.defs[p.unit] = p.unitDef
		}
		p.unit = ""
	}
}

func (p *trxParser) emit(r *trxResult) {
	m := p.b.text()
	m.writeString(joinMessage(r.msg.String(), r.stack.String()))
	r.tc.Message, r.tc.Output = m.String(), r.out.String()
	i := p.b.add(r.tc)
	if i < 0 || r.id == "" {
		return
	}
	if d, ok := p.defs[r.id]; ok {
		p.apply(i, d)
		return
	}
	if p.pending == nil {
		p.pending = map[string][]int{}
	}
	p.pending[r.id] = append(p.pending[r.id], i)
}

func (p *trxParser) apply(i int, d trxDef) {
	tc := &p.b.rep.Cases[i]
	tc.Class, tc.Suite = d.class, d.suite
	// testName is often fully qualified; keep the method's own name.
	if d.class != "" && strings.HasPrefix(tc.Name, d.class+".") {
		tc.Name = tc.Name[len(d.class)+1:]
	}
}

func (p *trxParser) text(data []byte) {
	n := len(p.results)
	if p.skip.skipping() || n == 0 {
		return
	}
	r := p.results[n-1]
	switch r.elem {
	case "StdOut", "StdErr":
		r.out.write(data)
	case "Message":
		r.msg.write(data)
	case "StackTrace":
		r.stack.write(data)
	}
}
