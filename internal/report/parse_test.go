package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWrongFormat(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		want   string
	}{
		{"results.trx", JUnitXML, "is a VISUALSTUDIOTRX report, not JUNITXML"},
		{"surefire.xml", VisualStudioTRX, "is a JUNITXML report, not VISUALSTUDIOTRX"},
		{"nunit3.xml", NUnitXML, "is a NUNIT3XML report, not NUNITXML"},
		{"nunit2.xml", NUnit3XML, "is a NUNITXML report, not NUNIT3XML"},
		{"testng-results.xml", JUnitXML, "is a TESTNGXML report, not JUNITXML"},
		{"pytest.xml", CucumberJSON, "the file is XML, not Cucumber JSON"},
		{"cucumber.json", JUnitXML, "wrong report format: the file is JSON, not XML"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+string(tt.format), func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Parse(tt.format, tt.file, f)
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", r)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.file) {
				t.Errorf("error %q, want it to start with %q and contain %q", err, tt.file, tt.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		input  string
		want   string // the whole error message
		wrong  bool   // errors.Is(err, ErrWrongFormat)
	}{
		{"empty", JUnitXML, "", "r.xml: JUNITXML report: wrong report format: no XML element found", true},
		{"text", JUnitXML, "hello", "r.xml: JUNITXML report: wrong report format: no XML element found", true},
		{"html", JUnitXML, "<html><body/></html>",
			"r.xml:1: JUNITXML report: wrong report format: root element <html> is not a JUNITXML report (expected <testsuites> or <testsuite>)", true},
		{"unclosed", JUnitXML, "<testsuite>\n<testcase name=\"a\">\n",
			"r.xml:3: JUNITXML report: unexpected EOF", false},
		{"mismatched", JUnitXML, "<testsuites>\n<testsuite>\n<testcase name=\"a\">\n</testsuite>\n",
			"r.xml:4: JUNITXML report: element <testcase> closed by </testsuite>", false},
		{"bad attribute", TestNGXML, "<testng-results>\n<suite name=x>",
			"r.xml:2: TESTNGXML report: unquoted or missing attribute value in element", false},
		{"truncated trx", VisualStudioTRX, "<TestRun><Results><UnitTestResult outcome=\"Passed\">",
			"r.xml:1: VISUALSTUDIOTRX report: unexpected EOF", false},
		{"two roots", JUnitXML, "<testsuite/>\n<testsuite/>",
			"r.xml:2: JUNITXML report: a second root element <testsuite>", false},
		{"bad encoding", JUnitXML, `<?xml version="1.0" encoding="EBCDIC"?><testsuite/>`,
			`r.xml:1: JUNITXML report: xml: opening charset "EBCDIC": unsupported encoding "EBCDIC"`, false},
		{"json truncated", CucumberJSON, `[{"name": "F", "elements": [{"name": "s", "steps": [`,
			"r.xml: byte 28: CUCUMBERJSON report: feature \"F\": elements: unexpected EOF", false},
		{"json object", CucumberJSON, `{"name": "F"}`,
			"r.xml: CUCUMBERJSON report: wrong report format: a JSON object, not the array of features Cucumber writes", true},
		{"json empty", CucumberJSON, " \n",
			"r.xml: CUCUMBERJSON report: wrong report format: empty file", true},
		{"json bad type", CucumberJSON, `[{"elements": [{"name": 3}]}]`,
			"r.xml: byte 25: CUCUMBERJSON report: feature \"\": elements: json: cannot unmarshal number into Go struct field cucumberElement.name of type string", false},
		{"json trailing", CucumberJSON, `[] []`,
			"r.xml: byte 4: CUCUMBERJSON report: data after the array of features", false},
		{"unknown format", "XUNIT", "<assemblies/>", `r.xml: unknown report format "XUNIT" (want one of JUNITXML, CUCUMBERJSON, TESTNGXML, NUNITXML, NUNIT3XML, VISUALSTUDIOTRX)`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.format, "r.xml", strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", r)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n %s\nwant:\n %s", err, tt.want)
			}
			if errors.Is(err, ErrWrongFormat) != tt.wrong {
				t.Errorf("errors.Is(err, ErrWrongFormat) = %v, want %v", !tt.wrong, tt.wrong)
			}
		})
	}
}

func TestReadErrorIsKept(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("<testsuite>"), errReader{boom})
	_, err := Parse(JUnitXML, "r.xml", r)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestLenientJUnit(t *testing.T) {
	in := `<?xml version="1.0" encoding="ISO-8859-1"?>
<testsuite name="caf` + "\xe9" + `">
  <testcase name="comma" time="1,234.5"/>
  <testcase name="decimal comma" time="0,25"/>
  <testcase name="missing"/>
  <testcase name="garbage" time="soon"/>
  <testcase name="negative" time="-3"/>
  <testcase name="seconds suffix" time="2s"/>
  <testcase name="worst wins"><failure message="boom"/><error message="teardown"/></testcase>
  <testcase name="entity">&nbsp;</testcase>
</testsuite>`
	r, err := Parse(JUnitXML, "r.xml", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	durations := []time.Duration{1234500 * time.Millisecond, 250 * time.Millisecond, 0, 0, 0, 2 * time.Second, 0, 0}
	if len(r.Cases) != len(durations) {
		t.Fatalf("%d cases, want %d", len(r.Cases), len(durations))
	}
	for i, d := range durations {
		if r.Cases[i].Duration != d {
			t.Errorf("%s: duration %v, want %v", r.Cases[i].Name, r.Cases[i].Duration, d)
		}
	}
	eq(t, "suite", r.Cases[0].Suite, "café")
	eq(t, "status", r.Cases[6].Status, Error)
	eq(t, "message", r.Cases[6].Message, "boom\nteardown")
}

func TestParseTimeSpan(t *testing.T) {
	tests := map[string]time.Duration{
		"00:00:01.234":       1234 * time.Millisecond,
		"00:00:00.0000001":   100 * time.Nanosecond,
		"01:02:03":           time.Hour + 2*time.Minute + 3*time.Second,
		"1.00:00:00.5000000": 24*time.Hour + 500*time.Millisecond,
		"":                   0,
		"-00:00:01":          0,
		"1:2":                0,
		"aa:00:00":           0,
	}
	for in, want := range tests {
		if got := parseTimeSpan(in); got != want {
			t.Errorf("parseTimeSpan(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("é", 10_000) // 20,000 bytes
	in := `<testsuite><testcase name="a"><failure message="m">` + long +
		`</failure><system-out>` + long + `</system-out></testcase></testsuite>`
	r, err := Parser{MaxText: 101}.Parse(JUnitXML, "r.xml", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cases[0]
	for what, s := range map[string]string{"message": c.Message, "output": c.Output} {
		if !strings.HasSuffix(s, truncationMark) || len(s) > 101+len(truncationMark) {
			t.Errorf("%s not capped: %d bytes, ends %q", what, len(s), s[max(0, len(s)-30):])
		}
		if !strings.HasPrefix(strings.TrimPrefix(s, "m\n"), "éé") {
			t.Errorf("%s starts %q", what, s[:10])
		}
		if !isValidUTF8(s) {
			t.Errorf("%s is not valid UTF-8", what)
		}
	}
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestLargeJUnit streams 200,000 generated test cases through a pipe and
// checks that every case is counted, that only MaxCases are kept, and that
// the heap stays bounded.
func TestLargeJUnit(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	const n = 200_000
	pr, pw := io.Pipe()
	go func() {
		var err error
		defer func() { pw.CloseWithError(err) }()
		_, err = io.WriteString(pw, "<?xml version=\"1.0\"?>\n<testsuites>\n")
		for s := 0; s < n/1000 && err == nil; s++ {
			_, err = fmt.Fprintf(pw, "<testsuite name=\"pkg%d\" tests=\"1000\">\n", s)
			for i := 0; i < 1000 && err == nil; i++ {
				switch {
				case i == 0:
					_, err = fmt.Fprintf(pw, "<testcase classname=\"pkg%d.C\" name=\"t%d\" time=\"0.001\"><failure message=\"boom\">%s</failure><system-out>%s</system-out></testcase>\n",
						s, i, strings.Repeat("trace line\n", 2000), strings.Repeat("x", 50_000))
				case i%100 == 0:
					_, err = fmt.Fprintf(pw, "<testcase classname=\"pkg%d.C\" name=\"t%d\" time=\"0.001\"><failure message=\"boom\">short</failure></testcase>\n", s, i)
				case i%100 == 1:
					_, err = fmt.Fprintf(pw, "<testcase classname=\"pkg%d.C\" name=\"t%d\"><skipped/></testcase>\n", s, i)
				default:
					_, err = fmt.Fprintf(pw, "<testcase classname=\"pkg%d.C\" name=\"t%d\" time=\"0.001\"/>\n", s, i)
				}
			}
			if err == nil {
				_, err = io.WriteString(pw, "</testsuite>\n")
			}
		}
		if err == nil {
			_, err = io.WriteString(pw, "</testsuites>\n")
		}
	}()

	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	r, err := Parser{MaxCases: 10_000}.Parse(JUnitXML, "big.xml", pr)
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != n || r.Failed != n/100 || r.Skipped != n/100 || r.Succeeded != n-2*n/100 {
		t.Errorf("counts: %s", r.Summary())
	}
	if len(r.Cases) != 10_000 {
		t.Errorf("kept %d cases, want 10,000", len(r.Cases))
	}
	if want := time.Duration(n-n/100) * time.Millisecond; r.Duration != want {
		t.Errorf("Duration = %v, want %v", r.Duration, want)
	}
	for _, c := range r.Cases[:200] {
		if len(c.Message) > DefaultMaxText+len(truncationMark) || len(c.Output) > DefaultMaxText+len(truncationMark) {
			t.Fatalf("case %s keeps %d+%d bytes of text", c.Name, len(c.Message), len(c.Output))
		}
	}
	const bound = 64 << 20
	t.Logf("peak HeapAlloc %d MiB", peak>>20)
	if peak > bound {
		t.Errorf("peak HeapAlloc %d MiB, want under %d MiB", peak>>20, bound>>20)
	}
}

func TestSummaryAndMerge(t *testing.T) {
	a := &Report{Format: JUnitXML, Total: 12, Succeeded: 10, Failed: 1, Skipped: 1, Duration: 3200 * time.Millisecond,
		Cases: []TestCase{{Name: "a", Status: Succeeded}}}
	eq(t, "summary", a.Summary(), "12 tests: 10 passed, 1 failed, 1 skipped (3.2 s)")
	b := &Report{Format: JUnitXML, Total: 3, Succeeded: 0, Errors: 1, Skipped: 1, Duration: 50 * time.Millisecond,
		Cases: []TestCase{{Name: "b", Status: Error}}}
	eq(t, "summary", b.Summary(), "3 tests: 0 passed, 0 failed, 1 errored, 1 skipped, 1 unknown (0.1 s)")
	eq(t, "summary", (&Report{Total: 1, Succeeded: 1}).Summary(), "1 test: 1 passed, 0 failed, 0 skipped (0.0 s)")

	m := Merge(a, nil, b)
	eq(t, "merged", m.Summary(), "15 tests: 10 passed, 1 failed, 1 errored, 2 skipped, 1 unknown (3.2 s)")
	eq(t, "format", m.Format, JUnitXML)
	if len(m.Cases) != 2 || m.Cases[1].Name != "b" {
		t.Errorf("merged cases %+v", m.Cases)
	}
	eq(t, "mixed format", Merge(a, &Report{Format: TestNGXML}).Format, "")
	eq(t, "empty", Merge().Summary(), "0 tests: 0 passed, 0 failed, 0 skipped (0.0 s)")
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": JUnitXML, "junitxml": JUnitXML, " NUNIT3XML ": NUnit3XML, "VisualStudioTrx": VisualStudioTRX} {
		got, err := ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("XUNITXML"); err == nil {
		t.Error("ParseFormat(XUNITXML) succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"surefire.xml", "pytest.xml", "go-junit-report.xml", "jest-junit.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<testsuite><testcase time="1,5"><failure><b>x</b></failure><skipped/></testcase></testsuite>`))
	f.Add([]byte(`<testsuites><testcase/><testsuite><testsuite></testsuite></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range Formats {
			r, err := Parser{MaxCases: 5, MaxText: 16}.Parse(format, "fuzz.xml", strings.NewReader(string(data)))
			if err != nil {
				continue
			}
			if len(r.Cases) > 5 || r.Succeeded+r.Failed+r.Skipped+r.Errors > r.Total || r.Duration < 0 {
				t.Fatalf("%s: inconsistent report %+v", format, r)
			}
			for _, c := range r.Cases {
				if len(c.Message) > 16+len(truncationMark) || len(c.Output) > 16+len(truncationMark) {
					t.Fatalf("%s: text not capped: %+v", format, c)
				}
			}
		}
	})
}
