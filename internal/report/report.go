// Package report parses the test report files a build produces, in the
// formats CodeBuild reads, into one model: a Report of TestCases with
// pass/fail/skip counts and durations.
//
// Parsing streams wherever the format allows: XML formats are read token by
// token, Cucumber JSON element by element. Memory stays bounded for huge
// files: each stored message and output is capped (Parser.MaxText) and at
// most Parser.MaxCases cases are kept, while the counts and the duration
// still cover every case in the file. One limit remains: encoding/xml and
// encoding/json hold a single text node or string value in memory while
// decoding it, so a file whose single <system-out> is 1 GiB needs that much.
//
// The package imports nothing else of sluice's.
package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Format names a test report file format, spelt as CodeBuild spells it in a
// buildspec's reports.<group>.file-format.
type Format string

// The formats CodeBuild reads.
const (
	JUnitXML        Format = "JUNITXML"
	CucumberJSON    Format = "CUCUMBERJSON"
	TestNGXML       Format = "TESTNGXML"
	NUnitXML        Format = "NUNITXML"  // NUnit 2 (root <test-results>)
	NUnit3XML       Format = "NUNIT3XML" // NUnit 3 (root <test-run>)
	VisualStudioTRX Format = "VISUALSTUDIOTRX"
)

// Formats lists every supported format, in CodeBuild's documentation order.
var Formats = []Format{JUnitXML, CucumberJSON, TestNGXML, NUnitXML, NUnit3XML, VisualStudioTRX}

// ParseFormat returns the format a buildspec names. Case is ignored, and an
// empty name means JUNITXML, CodeBuild's default.
func ParseFormat(s string) (Format, error) {
	if strings.TrimSpace(s) == "" {
		return JUnitXML, nil
	}
	f := Format(strings.ToUpper(strings.TrimSpace(s)))
	if !slices.Contains(Formats, f) {
		return "", fmt.Errorf("unknown report format %q (want one of %s)", s, formatList())
	}
	return f, nil
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Status is a test case's outcome, with CodeBuild's test case statuses.
type Status string

const (
	Succeeded Status = "SUCCEEDED"
	Failed    Status = "FAILED"
	Skipped   Status = "SKIPPED"
	Error     Status = "ERROR"   // the test could not run properly (JUnit <error>, NUnit Error, TRX Timeout...)
	Unknown   Status = "UNKNOWN" // inconclusive, or a status the parser does not know
)

// severity orders statuses so that a case with several outcomes (a failure
// and a teardown error, say) keeps the worst.
func (s Status) severity() int {
	switch s {
	case Succeeded:
		return 0
	case Skipped:
		return 1
	case Unknown:
		return 2
	case Failed:
		return 3
	case Error:
		return 4
	}
	return 2
}

// TestCase is one test's result.
type TestCase struct {
	Suite    string // the enclosing suite, feature or test group, as the format names it
	Name     string
	Class    string // class or module, where the format has one
	Status   Status
	Duration time.Duration
	Message  string // failure, error or skip message and the first lines of its trace, capped
	Output   string // captured stdout/stderr, capped
	File     string // source file, where the format records one
}

// Report is the parsed content of one report file, or of several merged.
//
// Total counts every case in the input and Succeeded+Failed+Skipped+Errors
// plus the UNKNOWN cases add up to it; Cases may hold fewer than Total when
// the input had more than the parser's MaxCases. Duration is the sum of the
// case durations.
type Report struct {
	Format    Format // empty for a merge of several formats
	Cases     []TestCase
	Total     int
	Succeeded int
	Failed    int
	Skipped   int
	Errors    int
	Duration  time.Duration
}

// Unknown returns the number of cases whose status is UNKNOWN.
func (r *Report) Unknown() int {
	return r.Total - r.Succeeded - r.Failed - r.Skipped - r.Errors
}

// Limits applied by Parse.
const (
	DefaultMaxCases = 100_000
	DefaultMaxText  = 4 << 10
)

// ErrWrongFormat is wrapped by the error Parse returns when the file is a
// test report of another format, or not a test report at all.
var ErrWrongFormat = errors.New("wrong report format")

// ParseError is the error Parse returns for input it cannot read. Line is
// the 1-based line for XML formats where known, else 0; Offset is the byte
// offset for JSON, else 0.
type ParseError struct {
	File   string
	Format Format
	Line   int
	Offset int64
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	} else if e.Offset > 0 {
		fmt.Fprintf(&b, ": byte %d", e.Offset)
	}
	fmt.Fprintf(&b, ": %s report: %v", e.Format, e.Err)
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parser parses report files with limits on what it keeps. The zero value
// uses DefaultMaxCases and DefaultMaxText. A Parser has no state and may be
// used from several goroutines.
type Parser struct {
	MaxCases int // cases kept in Report.Cases; the rest are only counted
	MaxText  int // bytes kept of each Message and Output
}

// Parse reads one report file with the default limits. filename is used
// only in error messages. See Parser.Parse.
func Parse(format Format, filename string, r io.Reader) (*Report, error) {
	return Parser{}.Parse(format, filename, r)
}

// Parse reads one report file of the given format. Malformed input gives a
// *ParseError naming the file (and the line, for XML); a well-formed file of
// another format gives a *ParseError wrapping ErrWrongFormat. An I/O error
// from r is returned wrapped with the file name.
func (p Parser) Parse(format Format, filename string, r io.Reader) (*Report, error) {
	b := newBuilder(format, p)
	var err error
	switch format {
	case JUnitXML:
		err = parseXML(b, filename, r, &junitParser{b: b})
	case TestNGXML:
		err = parseXML(b, filename, r, &testngParser{b: b})
	case NUnitXML:
		err = parseXML(b, filename, r, &nunit2Parser{b: b})
	case NUnit3XML:
		err = parseXML(b, filename, r, &nunit3Parser{b: b})
	case VisualStudioTRX:
		err = parseXML(b, filename, r, &trxParser{b: b})
	case CucumberJSON:
		err = parseCucumber(b, filename, r)
	default:
		return nil, fmt.Errorf("%s: unknown report format %q (want one of %s)", filename, format, formatList())
	}
	if err != nil {
		return nil, err
	}
	return b.rep, nil
}

// Merge combines reports into one, in order: counts and durations are
// summed and cases concatenated up to DefaultMaxCases. The result's Format
// is the reports' common format, or empty if they differ. Nil reports are
// ignored.
func Merge(reports ...*Report) *Report {
	out := &Report{}
	first := true
	for _, r := range reports {
		if r == nil {
			continue
		}
		if first {
			out.Format = r.Format
			first = false
		} else if out.Format != r.Format {
			out.Format = ""
		}
		room := DefaultMaxCases - len(out.Cases)
		out.Cases = append(out.Cases, r.Cases[:min(room, len(r.Cases))]...)
		out.Total += r.Total
		out.Succeeded += r.Succeeded
		out.Failed += r.Failed
		out.Skipped += r.Skipped
		out.Errors += r.Errors
		out.Duration = addDuration(out.Duration, r.Duration)
	}
	return out
}

// Summary describes the report in one line, such as
// "12 tests: 10 passed, 1 failed, 1 skipped (3.2 s)". Errors and unknown
// outcomes are mentioned only when there are some.
func (r *Report) Summary() string {
	var b strings.Builder
	if r.Total == 1 {
		b.WriteString("1 test: ")
	} else {
		fmt.Fprintf(&b, "%d tests: ", r.Total)
	}
	fmt.Fprintf(&b, "%d passed, %d failed", r.Succeeded, r.Failed)
	if r.Errors > 0 {
		fmt.Fprintf(&b, ", %d errored", r.Errors)
	}
	fmt.Fprintf(&b, ", %d skipped", r.Skipped)
	if u := r.Unknown(); u > 0 {
		fmt.Fprintf(&b, ", %d unknown", u)
	}
	fmt.Fprintf(&b, " (%.1f s)", r.Duration.Seconds())
	return b.String()
}
