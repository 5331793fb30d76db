//go:build linux

package build

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The builds of a batch meet through fifos in $MARK: opening a fifo blocks
// until the other end is opened, so two builds that each open the other's
// can only finish when they run at the same time. timeout bounds the wait
// for a build that would otherwise wait forever.
const (
	// left and right each wait for the other.
	meetLeft  = `timeout 30 sh -c 'echo left > "$MARK/left-to-right" && read x < "$MARK/right-to-left"'`
	meetRight = `timeout 30 sh -c 'read x < "$MARK/left-to-right" && echo right > "$MARK/right-to-left"'`
	// blocker tells that it runs, then waits for what never comes.
	blocker = `echo running > "$MARK/blocker-runs"; timeout 60 sh -c 'read x < "$MARK/never"'`
	// fails waits until blocker runs, then fails.
	failsOnceBlockerRuns = `read x < "$MARK/blocker-runs"; exit 1`
)

func batchSpec(builds string, fastFail bool) string {
	ff := "false"
	if fastFail {
		ff = "true"
	}
	return `version: 0.2
phases:
  build:
    commands:
      - echo "start $CODEBUILD_BATCH_BUILD_IDENTIFIER" >> "$MARK/order"
      - eval "$STEP"
      - echo "end $CODEBUILD_BATCH_BUILD_IDENTIFIER" >> "$MARK/order"
batch:
  fast-fail: ` + ff + `
` + builds
}

// step is a batch build's env with the command it runs.
func step(cmd string) string { return "env: {variables: {STEP: " + strconvQuote(cmd) + "}}" }

func TestBatchRunsBuildsInParallel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     string
		limit    int
		fails    string   // the error, or "" for success
		order    string   // a regexp the order file must match
		log      []string // in the log
		notFound []string // not in the log
	}{
		{
			name: "a graph's branches run together",
			spec: batchSpec(`  build-graph:
    - identifier: join
      depend-on: [left, right]
    - identifier: left
      depend-on: [root]
      `+step(meetLeft)+`
    - identifier: right
      depend-on: [root]
      `+step(meetRight)+`
    - identifier: root
`, false),
			order: `^start root\nend root\n(start (left|right)\n){2}(end (left|right)\n){2}start join\nend join\n$`,
			log:   []string{"batch build left: succeeded", "batch build right: succeeded", "batch build join: succeeded"},
		},
		{
			name: "a list's builds run together",
			spec: batchSpec(`  build-list:
    - identifier: left
      `+step(meetLeft)+`
    - identifier: right
      `+step(meetRight)+`
`, false),
			order: `^(start (left|right)\n){2}(end (left|right)\n){2}$`,
		},
		{
			name:  "the limit holds builds back",
			limit: 1,
			spec: batchSpec(`  build-matrix:
    dynamic:
      env:
        variables:
          STEP: ["echo a", "echo b", "echo c"]
`, false),
			order: `^start build1\nend build1\nstart build2\nend build2\nstart build3\nend build3\n$`,
		},
		{
			name:  "fast-fail stops the running build and starts no more",
			limit: 2,
			spec: batchSpec(`  build-list:
    - identifier: blocker
      `+step(blocker)+`
    - identifier: fails
      `+step(failsOnceBlockerRuns)+`
    - identifier: later
`, true),
			fails: "batch failed: fails: phase BUILD: command \"eval \\\"$STEP\\\"\" exited with code 1 (fast-fail stopped blocker)",
			order: `^(start (blocker|fails)\n){2}$`,
			log: []string{"batch build fails: failed", "batch build blocker: stopped: fast-fail after fails failed",
				"batch build later: not run: fast-fail after fails failed", "[blocker] [Container]"},
		},
		{
			name: "a failed dependency skips its dependents, not the others",
			spec: batchSpec(`  build-graph:
    - identifier: broken
      `+step("exit 3")+`
    - identifier: needs-broken
      depend-on: [broken]
    - identifier: needs-needs-broken
      depend-on: [needs-broken]
    - identifier: independent
`, false),
			fails: "batch failed: broken: phase BUILD",
			log: []string{"batch build needs-broken: not run: it depends on broken, which failed",
				"batch build needs-needs-broken: not run: it depends on needs-broken, which failed",
				"batch build independent: succeeded"},
			notFound: []string{"start needs-broken"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := t.TempDir()
			for _, fifo := range []string{"left-to-right", "right-to-left", "blocker-runs", "never"} {
				if err := syscall.Mkfifo(filepath.Join(mark, fifo), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := newJob(t, Project{Name: "p", Buildspec: tc.spec, Isolation: "none",
				EnvironmentVariables: []Variable{{Name: "MARK", Value: mark}}}, map[string]string{"BatchEnabled": "true"})
			// A bound for a batch that hangs; the fifos' own timeouts end
			// sooner.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, err := (Provider{BatchConcurrency: tc.limit, Isolation: testProvider(t, f.job).Isolation}).Run(ctx, f.job)
			log := f.log.String()
			switch {
			case tc.fails == "" && err != nil:
				t.Fatalf("%v\n%s", err, log)
			case tc.fails != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.fails)):
				t.Fatalf("error %v\nwant %s\n%s", err, tc.fails, log)
			}
			order, _ := os.ReadFile(filepath.Join(mark, "order"))
			if tc.order != "" && !regexp.MustCompile(tc.order).Match(order) {
				t.Errorf("builds ran in the order\n%s\nwant %s\n%s", order, tc.order, log)
			}
			for _, s := range tc.log {
				if !strings.Contains(log, s) {
					t.Errorf("the log does not say %q:\n%s", s, log)
				}
			}
			for _, s := range tc.notFound {
				if strings.Contains(log, s) || bytes.Contains(order, []byte(s)) {
					t.Errorf("%q happened:\n%s", s, log)
				}
			}
			// Every line is the batch's own or carries its build's
			// identifier, whole.
			line := regexp.MustCompile(`^(\[Container\] batch build [\w-]+: .*|\[[\w-]+\] .*)$`)
			for _, l := range strings.Split(strings.TrimSuffix(log, "\n"), "\n") {
				if !line.MatchString(l) {
					t.Errorf("a line of the log is neither the batch's nor a build's: %q", l)
				}
			}
		})
	}
}

func TestPrefixWriter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"whole lines", []string{"a\nb\n"}, "[x] a\n[x] b\n"},
		{"a line in pieces", []string{"he", "llo", " world\nnext"}, "[x] hello world\n[x] next\n"},
		{"an unfinished last line is ended", []string{"tail"}, "[x] tail\n"},
		{"a long line is cut", []string{strings.Repeat("a", maxLine+1) + "\n"}, "[x] " + strings.Repeat("a", maxLine) + "\n[x] a\n"},
		{"a line held back too long is cut", []string{strings.Repeat("a", maxLine-1), "aa\n"}, "[x] " + strings.Repeat("a", maxLine) + "\n[x] a\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			var writes int
			w := &prefixWriter{prefix: "[x] ", w: writerFunc(func(p []byte) (int, error) {
				writes++
				if p[len(p)-1] != '\n' || bytes.Count(p, []byte("\n")) != 1 {
					t.Errorf("write %q is not one whole line", p)
				}
				return got.Write(p)
			})}
			for _, s := range tc.writes {
				w.Write([]byte(s))
			}
			w.Flush()
			if got.String() != tc.want {
				g, w := got.String(), tc.want
				if len(g) > 200 || len(w) > 200 {
					g, w = summary(g), summary(w)
				}
				t.Fatalf("got %s\nwant %s", g, w)
			}
		})
	}
}

// summary shows a long text by its lines' lengths.
func summary(s string) string {
	var lens []string
	for _, l := range strings.SplitAfter(s, "\n") {
		lens = append(lens, strconv.Itoa(len(l)))
	}
	return "lines of " + strings.Join(lens, ", ") + " bytes"
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
