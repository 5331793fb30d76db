package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page: the layout and the shared parts,
// then the page's own file, which defines "content" and its fragments.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		set, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := set.ParseFS(templateFS, f); err != nil {
			return nil, err
		}
		p.sets[name] = set
	}
	return p, nil
}

// view is what every page's template gets.
type view struct {
	Title     string
	Principal string
	Policy    string
	CSRF      string
	Flash     string
	Nav       []navItem
	Active    string
	// Live is the stream the page's live regions follow ("" for none).
	Live   string
	Path   string // the page's path, where forms send the browser back to
	Perm   *permissions
	Static map[string]string // asset name → URL with its content hash
	Now    time.Time
	P      any // the page's own data
}

type navItem struct {
	Key, Label, URL string
}

var navItems = []struct {
	key, label, action string
}{
	{"pipelines", "Pipelines", actListPipelines},
	{"graph", "Dependencies", actGetPipelineGraph},
	{"repos", "Repositories", actListRepositories},
	{"ssh-keys", "SSH keys", actListSSHKeys},
	{"projects", "Build projects", actListProjects},
	{"functions", "Functions", actListFunctions},
	{"deployments", "Deployments", actListDeployments},
	{"connections", "Connections", actListConnections},
	{"rules", "Rules", actListRules},
	{"events", "Events", actListEvents},
	{"audit", "Audit trail", actListAuditRecords},
}

// render writes page with data, or only the fragment the request asks for
// (?fragment=NAME renders the page's template "frag-NAME").
func (s *Server) render(w http.ResponseWriter, r *http.Request, c *call, page, title string, data any) {
	set := s.pages.sets[page]
	_, urls := staticAssets()
	v := view{Title: title, P: data, Static: urls, Now: time.Now().UTC(), Path: r.URL.Path}
	if c != nil && c.sess != nil {
		v.Principal, v.Policy, v.CSRF, v.Perm = c.who.Name, c.who.PolicyName, c.sess.csrf, c.perm
		for _, n := range navItems {
			if c.perm.Can(n.action, "*") {
				v.Nav = append(v.Nav, navItem{Key: n.key, Label: n.label, URL: Prefix + n.key})
			}
		}
	}
	name := "layout"
	if f := r.URL.Query().Get("fragment"); f != "" && c != nil && c.sess != nil {
		name = "frag-" + f
		if set.Lookup(name) == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "no fragment " + f})
			return
		}
	} else if c != nil && c.sess != nil {
		v.Flash = c.sess.takeFlash()
	}
	if lv, ok := data.(interface{ liveURL() string }); ok && name == "layout" {
		// The stream starts after the newest event written before the page
		// read what it shows (see wrap), so it misses no change.
		if v.Live = lv.liveURL(); v.Live != "" && c != nil {
			seq := c.seq
			sep := "?"
			if strings.Contains(v.Live, "?") {
				sep = "&"
			}
			v.Live += sep + "after=" + strconv.FormatInt(seq, 10)
		}
	}
	if a, ok := data.(interface{ navKey() string }); ok {
		v.Active = a.navKey()
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, v); err != nil {
		s.log.Error("render console page", "page", page, "err", err)
		http.Error(w, "the page could not be drawn; see the server's log", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if c != nil && !c.start.IsZero() {
		// What the page cost the server, for the browser's developer tools
		// and the benchmark.
		h.Set("Server-Timing", fmt.Sprintf("render;dur=%.2f", float64(time.Since(c.start).Microseconds())/1000))
	}
	w.Write(buf.Bytes())
}

var funcs = template.FuncMap{
	"status":   statusBadge,
	"ago":      ago,
	"ts":       timestamp,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"dur":      duration,
	"short":    short,
	"path":     urlPath,
	"query":    url.QueryEscape,
	"lower":    strings.ToLower,
	"join":     strings.Join,
	"add":      func(a, b int) int { return a + b },
	"slug":     slug,
	"nonzero":  func(t time.Time) bool { return !t.IsZero() },
	"firstln":  firstLine,
	"statecls": stateClass,
	"str":      func(v any) string { return fmt.Sprint(v) },
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// statusInfo is how a status is drawn: a word, an icon and a colour, so
// that it reads without the colour.
type statusInfo struct {
	class, icon string
}

var statuses = map[string]statusInfo{
	"Succeeded":  {"ok", "✓"},
	"SUCCEEDED":  {"ok", "✓"},
	"Approved":   {"ok", "✓"},
	"Delivered":  {"ok", "✓"},
	"allowed":    {"ok", "✓"},
	"Enabled":    {"ok", "→"},
	"Failed":     {"bad", "✗"},
	"FAILED":     {"bad", "✗"},
	"ERROR":      {"bad", "✗"},
	"Rejected":   {"bad", "✗"},
	"failed":     {"bad", "✗"},
	"denied":     {"bad", "⛔"},
	"InProgress": {"run", "↻"},
	"STARTED":    {"run", "↻"},
	"Pending":    {"run", "↻"},
	"Waiting":    {"wait", "‖"},
	"Stopping":   {"warn", "◼"},
	"Stopped":    {"stop", "■"},
	"STOPPED":    {"stop", "■"},
	"Disabled":   {"stop", "⊘"},
	"Abandoned":  {"stop", "⊘"},
	"Superseded": {"muted", "⤼"},
	"SKIPPED":    {"muted", "↷"},
	"Skipped":    {"muted", "↷"},
	"Overridden": {"warn", "⤳"},
	"Cancelled":  {"stop", "⊘"},
	"NotStarted": {"idle", "○"},
	"UNKNOWN":    {"idle", "?"},
}

// statusBadge draws a status as an icon and a word, coloured.
func statusBadge(v any) template.HTML {
	status := fmt.Sprint(v)
	word := status
	if word == "" {
		word = "Never run"
	}
	info, ok := statuses[status]
	if !ok {
		info = statusInfo{"idle", "•"}
	}
	return template.HTML(fmt.Sprintf(`<span class="status st-%s" data-status="%s"><span class="icon" aria-hidden="true">%s</span> %s</span>`,
		info.class, html.EscapeString(status), info.icon, html.EscapeString(spaced(word))))
}

// stateClass is the colour class of a status, for borders of cards.
func stateClass(v any) string {
	if info, ok := statuses[fmt.Sprint(v)]; ok {
		return "st-" + info.class
	}
	return "st-idle"
}

// spaced writes InProgress as "In progress", NotStarted as "Not started".
func spaced(s string) string {
	switch s {
	case "InProgress":
		return "In progress"
	case "NotStarted":
		return "Not started"
	}
	return s
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// duration is from start to end, or to now when end is zero.
func duration(start, end time.Time) string {
	if start.IsZero() {
		return ""
	}
	if end.IsZero() || end.Before(start) {
		end = time.Now()
	}
	d := end.Sub(start)
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// urlPath joins path segments, escaping each: path "/ui/pipelines" name.
func urlPath(base string, segs ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(base, "/"))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// slug makes a string usable in an element id.
func slug(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for _, r := range p {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(&b, "_%x", r)
			}
		}
	}
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
