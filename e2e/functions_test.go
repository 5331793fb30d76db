package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// functionScript is a command function: it reads its event from standard
// input, keeps it (and its job token) in DIR for the test to look at, and
// answers in the background as its UserParameters say.
const functionScript = `#!/bin/bash
event=$(cat)
printf '%s' "$event" > "$DIR/event-$SLUICE_JOB_ID.json"
printf '%s' "$SLUICE_JOB_TOKEN" > "$DIR/token"
mode=$(printf '%s' "$event" | sed -n 's/.*"UserParameters":"\([^"]*\)".*/\1/p')
echo "invoked with $mode, token $SLUICE_JOB_TOKEN"
case "$mode" in
success)
	"$CLI" job success "$SLUICE_JOB_ID" --output-variable greeting=hi --summary "said hi" >>"$DIR/answers" 2>&1 & ;;
failure)
	"$CLI" job failure "$SLUICE_JOB_ID" --message "it broke" >>"$DIR/answers" 2>&1 & ;;
continue)
	if printf '%s' "$event" | grep -q '"continuationToken":"step2"'; then
		"$CLI" job success --output-variable greeting=again >>"$DIR/answers" 2>&1 &
	else
		"$CLI" job success --continuation-token step2 --summary "step 1 done" >>"$DIR/answers" 2>&1 &
	fi ;;
silent)
	touch "$DIR/invoked" ;;
esac
`

// writeExecutable writes a script and makes it executable through a child
// process: written from this process, the file's descriptor could be
// inherited by a process another parallel test forks at that instant, and
// executing the script would then fail with "text file busy".
func writeExecutable(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if out, err := exec.Command("install", "-m", "0755", tmp, path).CombinedOutput(); err != nil {
		t.Fatalf("install %s: %v\n%s", path, err, out)
	}
	os.Remove(tmp)
}

// functionPipeline writes a pipeline whose Call action invokes function fn
// with userParameters in namespace fn, and whose Echo action then prints
// #{fn.greeting}; it returns the file.
func functionPipeline(t *testing.T, s *server, name, provider, fn, userParameters string, config ...string) string {
	t.Helper()
	extra := ""
	for _, c := range config {
		extra += "\n          " + c
	}
	file := filepath.Join(s.scratch("pipelines"), name+".yml")
	writeFile(t, file, fmt.Sprintf(`name: %s
stages:
  - name: Invoke
    actions:
      - name: Call
        provider: %s
        namespace: fn
        configuration:
          FunctionName: %s
          UserParameters: %s%s
  - name: Use
    actions:
      - name: Echo
        provider: Commands
        commands:
          - 'echo "greeting=#{fn.greeting}"'
`, name, provider, fn, userParameters, extra))
	return file
}

// applyFunction writes a function definition and applies it.
func applyFunction(t *testing.T, s *server, name, def string) string {
	t.Helper()
	file := filepath.Join(s.scratch("functions"), name+".yml")
	writeFile(t, file, def)
	return strings.TrimSpace(s.ok("function", "apply", "-f", file))
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("fn")
	script := filepath.Join(dir, "fn.sh")
	writeExecutable(t, script, functionScript)
	def := fmt.Sprintf("name: greeter\ncommand: [%s]\nenvironment:\n  DIR: %s\n  CLI: %s\n", script, dir, sluiceBin)

	wantEqual(t, "first apply", applyFunction(t, s, "greeter", def), "function greeter created")
	wantEqual(t, "second apply", applyFunction(t, s, "greeter", def), "function greeter unchanged")
	wantEqual(t, "third apply", applyFunction(t, s, "greeter", def+"timeoutInMinutes: 10\n"), "function greeter updated")
	wantContains(t, "function list", s.ok("function", "list"), "greeter", script, "10m")
	var got wire.Function
	s.json(&got, "function", "get", "greeter")
	if got.Name != "greeter" || len(got.Command) != 1 || got.Command[0] != script || got.Environment["DIR"] != dir || got.TimeoutInMinutes != 10 {
		t.Fatalf("function get = %+v", got)
	}
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "name: bad\ncommand: ./run.sh\n")
	r := s.fails("function", "apply", "-f", bad)
	wantContains(t, "bad apply", r.stderr, bad+`:2: command: must be a list`)

	t.Run("success", func(t *testing.T) {
		s.apply(functionPipeline(t, s, "fn-success", "Function", "greeter", "success"))
		id := s.start("fn-success")
		e := s.waitEnd("fn-success", id, "Succeeded")
		call := e.action(t, "Call")
		wantEqual(t, "Call output greeting", call.OutputVariables["greeting"], "hi")
		wantEqual(t, "Call summary", call.Summary, "said hi")
		wantContains(t, "Echo log", s.ok("logs", "fn-success", id, "Echo"), "greeting=hi\n")
		token := readFile(t, filepath.Join(dir, "token"))
		log := s.ok("logs", "fn-success", id, "Call")
		wantContains(t, "Call log", log, "invoked with success, token ***")
		if !strings.HasPrefix(token, "sjt_") || strings.Contains(log, token) {
			t.Errorf("the job token %q is in the log:\n%s", token, log)
		}
		// The event is CodePipeline's, with sluice's artifact URLs.
		events, _ := filepath.Glob(filepath.Join(dir, "event-*.json"))
		if len(events) != 1 {
			t.Fatalf("events = %v", events)
		}
		var ev map[string]map[string]any
		if err := json.Unmarshal([]byte(readFile(t, events[0])), &ev); err != nil {
			t.Fatal(err)
		}
		job := ev["CodePipeline.job"]
		data, _ := job["data"].(map[string]any)
		creds, _ := data["artifactCredentials"].(map[string]any)
		if job["accountId"] != "local" || creds["sessionToken"] != token || data["continuationToken"] != nil {
			t.Errorf("event = %v", ev)
		}
		// An answer counts once.
		r := runCLI(t, append(cliEnv(s.url, ""), "SLUICE_JOB_TOKEN="+token), "job", "success", job["id"].(string))
		if r.code == 0 || !strings.Contains(r.stderr, "has ended already") {
			t.Errorf("a second answer: %s", r)
		}
		os.Remove(events[0])
	})

	t.Run("failure", func(t *testing.T) {
		s.apply(functionPipeline(t, s, "fn-failure", "Lambda", "greeter", "failure"))
		id := s.start("fn-failure")
		e := s.waitEnd("fn-failure", id, "Failed")
		wantEqual(t, "Call status", e.action(t, "Call").Status, "Failed")
		wantEqual(t, "Call summary", e.action(t, "Call").Summary, "it broke")
		if st := e.actionStatus("Echo"); st == "Succeeded" || st == "InProgress" {
			t.Errorf("Echo is %s after the function failed", st)
		}
		removeEvents(t, dir)
	})

	t.Run("continuation", func(t *testing.T) {
		s.apply(functionPipeline(t, s, "fn-continue", "Function", "greeter", "continue", "ContinuationIntervalSeconds: 1"))
		id := s.start("fn-continue")
		e := s.waitEnd("fn-continue", id, "Succeeded")
		wantEqual(t, "Call output greeting", e.action(t, "Call").OutputVariables["greeting"], "again")
		wantContains(t, "Echo log", s.ok("logs", "fn-continue", id, "Echo"), "greeting=again\n")
		events, _ := filepath.Glob(filepath.Join(dir, "event-*.json"))
		if len(events) != 2 {
			t.Fatalf("events = %v, want two invocations", events)
		}
		continued := 0
		var first, second time.Time
		for _, path := range events {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(readFile(t, path), `"continuationToken":"step2"`) {
				continued++
				second = fi.ModTime()
			} else {
				first = fi.ModTime()
			}
		}
		wantEqual(t, "invocations with the continuation token", continued, 1)
		// ContinuationIntervalSeconds: 1 holds the second invocation back.
		if gap := second.Sub(first); gap < 900*time.Millisecond {
			t.Errorf("the second invocation came %s after the first, want at least ContinuationIntervalSeconds (1s)", gap)
		}
		removeEvents(t, dir)
	})

	t.Run("missing function", func(t *testing.T) {
		s.apply(functionPipeline(t, s, "fn-missing", "Function", "nobody", "x"))
		id := s.start("fn-missing")
		e := s.waitEnd("fn-missing", id, "Failed")
		wantContains(t, "Call summary", e.action(t, "Call").Summary, `function "nobody" not found`)
	})

	t.Run("url", func(t *testing.T) {
		answered := make(chan error, 1)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var ev struct {
				Job struct {
					ID string `json:"id"`
				} `json:"CodePipeline.job"`
			}
			if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Job.ID != r.Header.Get("X-Sluice-Job-Id") {
				http.Error(w, "bad event", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			server, token, jobID := r.Header.Get("X-Sluice-Server"), r.Header.Get("X-Sluice-Job-Token"), ev.Job.ID
			go func() {
				// Later, as a Lambda function would, with the job's own token.
				time.Sleep(300 * time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				answered <- client.New(server, token).PutJobSuccessResult(ctx, jobID, wire.JobSuccess{
					OutputVariables: map[string]string{"greeting": "from-url"}, Summary: "answered over HTTP",
				})
			}()
		}))
		defer hook.Close()
		wantEqual(t, "apply", applyFunction(t, s, "hook", "name: hook\nurl: "+hook.URL+"/invoke\n"), "function hook created")
		s.apply(functionPipeline(t, s, "fn-url", "Function", "hook", "x"))
		id := s.start("fn-url")
		e := s.waitEnd("fn-url", id, "Succeeded")
		if err := <-answered; err != nil {
			t.Fatalf("PutJobSuccessResult: %v", err)
		}
		wantEqual(t, "Call summary", e.action(t, "Call").Summary, "answered over HTTP")
		wantContains(t, "Echo log", s.ok("logs", "fn-url", id, "Echo"), "greeting=from-url\n")
		wantContains(t, "Call log", s.ok("logs", "fn-url", id, "Call"), "answered 202 Accepted")
	})

	wantEqual(t, "delete", strings.TrimSpace(s.ok("function", "delete", "hook")), "function hook deleted")
	s.fails("function", "get", "hook")
}

func removeEvents(t *testing.T, dir string) {
	t.Helper()
	events, _ := filepath.Glob(filepath.Join(dir, "event-*.json"))
	for _, e := range events {
		os.Remove(e)
	}
}

// A function that does not answer holds no worker: its action waits, parked,
// while the server's only worker runs other jobs, until it is stopped.
func TestFunctionWithoutAnswerHoldsNoWorker(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--workers", "1")
	dir := s.scratch("fn")
	script := filepath.Join(dir, "fn.sh")
	writeExecutable(t, script, functionScript)
	applyFunction(t, s, "quiet", fmt.Sprintf("name: quiet\ncommand: [%s]\nenvironment:\n  DIR: %s\n  CLI: %s\n", script, dir, sluiceBin))
	s.apply(functionPipeline(t, s, "fn-silent", "Function", "quiet", "silent"))
	s.apply("testdata/commands.yml")

	id := s.start("fn-silent")
	waitFile(t, filepath.Join(dir, "invoked"))
	e := s.waitFor("fn-silent", id, 30*time.Second, "Call to be invoked", func(e execution) bool {
		a := e.action(t, "Call")
		return a.Status == "InProgress" && strings.Contains(a.Summary, "waiting for its answer")
	})
	wantEqual(t, "execution status", e.Status, "InProgress")

	// The one worker is free.
	other := s.start("commands")
	s.waitEnd("commands", other, "Succeeded")
	wantEqual(t, "Call status", s.execution("fn-silent", id).actionStatus("Call"), "InProgress")

	s.ok("stop", "fn-silent", id, "--abandon", "--reason", "no answer")
	s.waitEnd("fn-silent", id, "Stopped")

	// An answer after the stop is refused.
	token := readFile(t, filepath.Join(dir, "token"))
	events, _ := filepath.Glob(filepath.Join(dir, "event-*.json"))
	if len(events) != 1 {
		t.Fatalf("events = %v", events)
	}
	jobID := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(events[0]), "event-"), ".json")
	r := runCLI(t, append(cliEnv(s.url, ""), "SLUICE_JOB_TOKEN="+token), "job", "success", jobID)
	if r.code == 0 {
		t.Fatalf("an answer after the stop was taken: %s", r)
	}
	// A job token answers for its own job only.
	r = runCLI(t, cliEnv(s.url, ""), "pipeline", "list", "--token", token)
	if r.code == 0 {
		t.Fatalf("a job token listed pipelines: %s", r)
	}
}
