package report

import (
	"encoding/xml"
	"strings"
)

// nunitSuite is an open <test-suite>.
type nunitSuite struct{ name, typ string }

// caseSuite names the suite a case belongs to: the nearest enclosing suite
// that is not a parameterized method or theory (whose name is the test's).
func caseSuite(stack []nunitSuite) string {
	for i := len(stack) - 1; i >= 0; i-- {
		switch strings.ToLower(stack[i].typ) {
		case "parameterizedtest", "parameterizedmethod", "genericmethod", "theory", "parameterizedfixture", "genericfixture":
			continue
		}
		return stack[i].name
	}
	if len(stack) > 0 {
		return stack[len(stack)-1].name
	}
	return ""
}

// nunitCase holds what the NUnit 2 and 3 parsers collect inside a
// <test-case>: <failure> or <reason> with <message> and <stack-trace>, and
// (NUnit 3) <output>.
type nunitCase struct {
	inCase bool
	cur    TestCase
	elem   string
	msg    capped
	stack  capped
	out    capped
}

func (c *nunitCase) open(b *builder, tc TestCase) {
	c.inCase, c.cur, c.elem = true, tc, ""
	c.msg, c.stack, c.out = b.text(), b.text(), b.text()
}

func (c *nunitCase) startChild(name string) {
	switch name {
	case "message", "stack-trace", "output":
		c.elem = name
	}
}

func (c *nunitCase) endChild(b *builder, name string) {
	switch name {
	case "message", "stack-trace", "output":
		c.elem = ""
	case "test-case":
		m := b.text()
		m.writeString(joinMessage(c.msg.String(), c.stack.String()))
		c.cur.Message, c.cur.Output = m.String(), c.out.String()
		b.add(c.cur)
		c.inCase = false
	}
}

func (c *nunitCase) text(data []byte) {
	switch c.elem {
	case "message":
		c.msg.write(data)
	case "stack-trace":
		c.stack.write(data)
	case "output":
		c.out.write(data)
	}
}

// nunit2Parser reads NUnit 2 XML: test-results > test-suite > results >
// ... > test-case with result, executed, success and time (seconds).
type nunit2Parser struct {
	b      *builder
	skip   skipper
	suites []nunitSuite
	c      nunitCase
}

func (p *nunit2Parser) roots() []string { return []string{"test-results"} }

func (p *nunit2Parser) start(se xml.StartElement) error {
	if p.skip.skipping() {
		p.skip.depth++
		return nil
	}
	name := se.Name.Local
	if p.c.inCase {
		p.c.startChild(name)
		return nil
	}
	switch name {
	case "test-suite":
		p.suites = append(p.suites, nunitSuite{attr(se, "name"), attr(se, "type")})
	case "test-case":
		class, method := splitQualified(attr(se, "name"))
		p.c.open(p.b, TestCase{
			Suite:    caseSuite(p.suites),
			Class:    class,
			Name:     method,
			Status:   nunit2Status(attr(se, "result"), attr(se, "executed"), attr(se, "success")),
			Duration: parseSeconds(attr(se, "time")),
		})
	case "environment", "culture-info", "categories", "properties", "reason", "failure":
		p.skip.depth = 1 // suite-level; a case's own are read by nunitCase
	}
	return nil
}

func nunit2Status(result, executed, success string) Status {
	switch strings.ToLower(result) {
	case "success":
		return Succeeded
	case "failure":
		return Failed
	case "error", "notrunnable", "cancelled":
		return Error
	case "ignored", "skipped", "notrun":
		return Skipped
	case "inconclusive":
		return Unknown
	}
	if strings.EqualFold(executed, "false") {
		return Skipped
	}
	switch strings.ToLower(success) {
	case "true":
		return Succeeded
	case "false":
		return Failed
	}
	return Unknown
}

func (p *nunit2Parser) end(name string) {
	if p.skip.skipping() {
		p.skip.depth--
		return
	}
	if p.c.inCase {
		p.c.endChild(p.b, name)
		return
	}
	if name == "test-suite" && len(p.suites) > 0 {
		p.suites = p.suites[:len(p.suites)-1]
	}
}

func (p *nunit2Parser) text(data []byte) {
	if !p.skip.skipping() && p.c.inCase {
		p.c.text(data)
	}
}

// nunit3Parser reads NUnit 3 XML: test-run > test-suite ... > test-case
// with result Passed|Failed|Skipped|Inconclusive|Warning, an optional label
// (Error, Invalid, Cancelled, Ignored, Explicit), duration in seconds,
// <failure>/<reason> with <message> and <stack-trace>, and <output>.
type nunit3Parser struct {
	b      *builder
	skip   skipper
	suites []nunitSuite
	c      nunitCase
}

func (p *nunit3Parser) roots() []string { return []string{"test-run"} }

func (p *nunit3Parser) start(se xml.StartElement) error {
	if p.skip.skipping() {
		p.skip.depth++
		return nil
	}
	name := se.Name.Local
	if p.c.inCase {
		switch name {
		case "assertions", "attachments", "properties":
			p.skip.depth = 1 // assertion messages repeat the failure's
		default:
			p.c.startChild(name)
		}
		return nil
	}
	switch name {
	case "test-suite":
		p.suites = append(p.suites, nunitSuite{attr(se, "name"), attr(se, "type")})
	case "test-case":
		class := attr(se, "classname")
		method := attr(se, "name")
		if class == "" {
			class, _ = splitQualified(attr(se, "fullname"))
		}
		p.c.open(p.b, TestCase{
			Suite:    caseSuite(p.suites),
			Class:    class,
			Name:     method,
			Status:   nunit3Status(attr(se, "result"), attr(se, "label")),
			Duration: parseSeconds(attr(se, "duration")),
		})
	case "command-line", "filter", "settings", "environment", "properties", "reason", "failure", "output", "attachments":
		p.skip.depth = 1 // run- or suite-level
	}
	return nil
}

func nunit3Status(result, label string) Status {
	switch strings.ToLower(result) {
	case "passed", "warning":
		return Succeeded
	case "failed":
		switch strings.ToLower(label) {
		case "error", "invalid", "cancelled":
			return Error
		}
		return Failed
	case "skipped":
		return Skipped
	}
	return Unknown // Inconclusive, and anything newer
}

func (p *nunit3Parser) end(name string) {
	if p.skip.skipping() {
		p.skip.depth--
		return
	}
	if p.c.inCase {
		p.c.endChild(p.b, name)
		return
	}
	if name == "test-suite" && len(p.suites) > 0 {
		p.suites = p.suites[:len(p.suites)-1]
	}
}

func (p *nunit3Parser) text(data []byte) {
	if !p.skip.skipping() && p.c.inCase {
		p.c.text(data)
	}
}
