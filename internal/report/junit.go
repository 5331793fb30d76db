package report

import "encoding/xml"

// junitParser reads JUnit XML as Maven Surefire, pytest, go-junit-report,
// jest-junit and others write it: a <testsuites> or lone <testsuite> root,
// suites nested to any depth, <testcase> with <failure>, <error>,
// <skipped>, <system-out> and <system-err>.
type junitParser struct {
	b      *builder
	skip   skipper
	suites []string

	inCase bool
	cur    TestCase
	msg    capped // the case's messages so far
	out    capped // the case's output so far

	// The open outcome or output element, whose text is being collected.
	elem     string
	elemHead string
	body     capped
}

func (p *junitParser) roots() []string { return []string{"testsuites", "testsuite"} }

func (p *junitParser) start(se xml.StartElement) error {
	if p.skip.skipping() {
		p.skip.depth++
		return nil
	}
	name := se.Name.Local
	if !p.inCase {
		switch name {
		case "testsuite":
			p.suites = append(p.suites, attr(se, "name"))
		case "testcase":
			p.inCase = true
			p.cur = TestCase{
				Name:     attr(se, "name"),
				Class:    attr(se, "classname"),
				File:     attr(se, "file"),
				Status:   Succeeded,
				Duration: parseSeconds(attr(se, "time")),
			}
			if n := len(p.suites); n > 0 {
				p.cur.Suite = p.suites[n-1]
			}
			p.msg, p.out, p.body = p.b.text(), p.b.text(), p.b.text()
		case "properties":
			p.skip.depth = 1
		}
		return nil
	}
	if p.elem != "" { // markup inside a failure's text: keep only its text
		return nil
	}
	var st Status
	switch name {
	case "failure":
		st = Failed
	case "error":
		st = Error
	case "skipped":
		st = Skipped
	case "system-out", "system-err":
		p.elem = name
		return nil
	default:
		// Surefire's flakyFailure/rerunFailure (the test passed on a
		// rerun), properties, and anything else: not the outcome.
		p.skip.depth = 1
		return nil
	}
	if st.severity() > p.cur.Status.severity() {
		p.cur.Status = st
	}
	p.elem = name
	p.elemHead = attr(se, "message")
	if p.elemHead == "" {
		p.elemHead = attr(se, "type")
	}
	p.body.reset()
	return nil
}

func (p *junitParser) end(name string) {
	if p.skip.skipping() {
		p.skip.depth--
		return
	}
	if p.elem != "" {
		if name != p.elem {
			return
		}
		switch name {
		case "system-out", "system-err":
			appendText(&p.out, p.body.String())
		default:
			appendText(&p.msg, joinMessage(p.elemHead, p.body.String()))
		}
		p.elem = ""
		p.body.reset()
		return
	}
	switch name {
	case "testcase":
		if p.inCase {
			p.cur.Message, p.cur.Output = p.msg.String(), p.out.String()
			p.b.add(p.cur)
			p.inCase = false
		}
	case "testsuite":
		if !p.inCase && len(p.suites) > 0 {
			p.suites = p.suites[:len(p.suites)-1]
		}
	}
}

func (p *junitParser) text(data []byte) {
	if p.elem != "" && !p.skip.skipping() {
		p.body.write(data)
	}
}
