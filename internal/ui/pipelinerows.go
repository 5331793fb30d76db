package ui

import (
	"html/template"
	"strconv"
	"strings"
	"time"
)

// pipelineRows draws the rows of the pipelines table: the one part of the
// console not drawn by html/template. A page has 100 rows, and the template
// engine's reflection over them (a dozen actions and function calls each)
// was half of the page's CPU. Every value from outside (names, ids,
// triggers, what an execution waits for) goes through
// template.HTMLEscapeString, which escapes it for text and for a quoted
// attribute alike; every URL is urlPath of a constant prefix and escaped
// segments, escaped again as an attribute; everything else is constant
// markup. TestPipelineRowsAsTemplate holds the output to what the template
// ("pipeline-row" in its test) draws for the same rows, hostile values
// included.
func pipelineRows(rows []pipelineRow, perm *permissions) template.HTML {
	var b rowWriter
	b.Grow(len(rows) * 900)
	for i := range rows {
		b.row(&rows[i], perm)
	}
	return template.HTML(b.String())
}

// rowWriter writes a row's markup: constant text with WriteString, values
// with text, which escapes them.
type rowWriter struct {
	strings.Builder
	badges map[string]string // statusBadge of each status met, drawn once
}

func (b *rowWriter) badge(status string) {
	h, ok := b.badges[status]
	if !ok {
		if b.badges == nil {
			b.badges = map[string]string{}
		}
		h = string(statusBadge(status))
		b.badges[status] = h
	}
	b.WriteString(h)
}

// text writes s escaped: as element text, or inside a quoted attribute.
func (b *rowWriter) text(s string) { b.WriteString(template.HTMLEscapeString(s)) }

func (b *rowWriter) row(r *pipelineRow, perm *permissions) {
	b.WriteString("\n    <tr data-name=\"")
	b.text(r.Name)
	b.WriteString("\">\n      <th scope=\"row\">")
	if perm.On(actGetPipelineState, r.Name) {
		b.WriteString("<a href=\"")
		b.text(urlPath(Prefix+"pipelines", r.Name))
		b.WriteString("\">")
		b.text(r.Name)
		b.WriteString("</a>")
	} else {
		b.text(r.Name)
	}
	b.WriteString(" <span class=\"small\">v")
	b.WriteString(strconv.Itoa(r.Version))
	b.WriteString(" · ")
	b.text(r.Mode)
	b.WriteString("</span></th>\n      ")
	if e := r.Latest; e != nil {
		b.WriteString("\n      <td>")
		b.badge(string(e.Status))
		b.WriteString(" ")
		if perm.On(actGetPipelineExecution, e.Pipeline) {
			b.WriteString("<a href=\"")
			b.text(urlPath(Prefix+"pipelines", e.Pipeline, "executions", e.ID))
			b.WriteString("\" class=\"small\"><code>")
			b.text(short(e.ID))
			b.WriteString("</code></a>")
		}
		if w := r.Wait; w.Kind != "" {
			b.WriteString("<div class=\"small waitfor\" data-wait=\"")
			b.text(w.Kind)
			b.WriteString("\" title=\"")
			b.text(w.Long)
			b.WriteString("\"><span aria-hidden=\"true\">‖</span> ")
			b.text(w.Short)
			b.WriteString("</div>")
		}
		b.WriteString("</td>\n      <td><span class=\"trigger\">")
		b.text(e.Trigger.Type)
		b.WriteString("</span>")
		if e.Trigger.Detail != "" {
			b.WriteString(" <span class=\"trigger-detail\">")
			b.text(e.Trigger.Detail)
			b.WriteString("</span>")
		}
		b.WriteString("</td>\n      <td><time datetime=\"")
		b.text(e.StartTime.UTC().Format(time.RFC3339))
		b.WriteString("\" title=\"")
		b.text(timestamp(e.StartTime))
		b.WriteString("\">")
		b.text(ago(e.StartTime))
		b.WriteString("</time></td>\n      <td>")
		b.text(duration(e.StartTime, executionEnd(e)))
		b.WriteString("</td>\n      ")
	} else {
		b.WriteString("\n      <td>")
		b.badge("")
		b.WriteString("</td><td></td><td></td><td></td>\n      ")
	}
	b.WriteString("\n      <td>")
	b.WriteString(strconv.Itoa(r.Stages))
	b.WriteString("</td>\n    </tr>\n  ")
}
