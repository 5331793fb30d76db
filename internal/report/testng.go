package report

import (
	"encoding/xml"
	"strings"
)

// testngParser reads TestNG's testng-results.xml:
// testng-results > suite > test > class > test-method, with status
// PASS|FAIL|SKIP, duration-ms, and exception > message, full-stacktrace.
// Configuration methods (is-config="true": @BeforeMethod and the like) are
// not tests and are left out, as TestNG's own counts leave them out.
type testngParser struct {
	b     *builder
	skip  skipper
	suite string
	test  string
	class string

	inCase  bool
	cur     TestCase
	excType string
	elem    string // "message", "full-stacktrace" or "line" being read
	excMsg  capped
	stack   capped
	out     capped
}

func (p *testngParser) roots() []string { return []string{"testng-results"} }

func (p *testngParser) start(se xml.StartElement) error {
	if p.skip.skipping() {
		p.skip.depth++
		return nil
	}
	name := se.Name.Local
	if !p.inCase {
		switch name {
		case "suite":
			p.suite, p.test, p.class = attr(se, "name"), "", ""
		case "test":
			p.test, p.class = attr(se, "name"), ""
		case "class":
			p.class = attr(se, "name")
		case "test-method":
			if strings.EqualFold(attr(se, "is-config"), "true") {
				p.skip.depth = 1
				return nil
			}
			p.inCase = true
			p.cur = TestCase{
				Suite:    p.test,
				Class:    p.class,
				Name:     attr(se, "name"),
				Status:   testngStatus(attr(se, "status")),
				Duration: parseMillis(attr(se, "duration-ms")),
			}
			if p.cur.Suite == "" {
				p.cur.Suite = p.suite
			}
			p.excType = ""
			p.excMsg, p.stack, p.out = p.b.text(), p.b.text(), p.b.text()
		case "reporter-output":
			p.skip.depth = 1
		}
		return nil
	}
	switch name {
	case "exception":
		p.excType = attr(se, "class")
	case "message", "full-stacktrace", "line":
		p.elem = name
		if name == "line" && len(p.out.buf) > 0 {
			p.out.writeString("\n")
		}
	}
	return nil
}

func testngStatus(s string) Status {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "PASS":
		return Succeeded
	case "FAIL":
		return Failed
	case "SKIP":
		return Skipped
	}
	return Unknown
}

func (p *testngParser) end(name string) {
	if p.skip.skipping() {
		p.skip.depth--
		return
	}
	if !p.inCase {
		return
	}
	switch name {
	case "message", "full-stacktrace", "line":
		p.elem = ""
	case "test-method":
		head := p.excType
		if m := p.excMsg.String(); m != "" {
			if head != "" {
				head += ": "
			}
			head += m
		}
		c := p.b.text()
		c.writeString(joinMessage(head, p.stack.String()))
		p.cur.Message, p.cur.Output = c.String(), p.out.String()
		p.b.add(p.cur)
		p.inCase = false
	}
}

func (p *testngParser) text(data []byte) {
	if p.skip.skipping() || !p.inCase {
		return
	}
	switch p.elem {
	case "message":
		p.excMsg.write(data)
	case "full-stacktrace":
		p.stack.write(data)
	case "line":
		p.out.write(trimLine(data))
	}
}

// trimLine drops the indentation and line breaks around a CDATA line.
func trimLine(data []byte) []byte {
	return []byte(strings.TrimSpace(string(data)))
}
