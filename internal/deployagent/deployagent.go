// Package deployagent is what `sluice agent` does with one deployment on its
// machine, as CodeDeploy's agent does for an in-place deployment: unpack
// the revision (DownloadBundle), remove what the last deployment of the group
// installed and copy the appspec's files with its file_exists_behavior and
// permissions (Install), and run the appspec's hooks at each lifecycle event
// in CodeDeploy's order, with CodeDeploy's environment variables, each
// script within its timeout and with a log of its own. ApplicationStop and
// the BlockTraffic events run the scripts of the last revision that
// succeeded on the group, as CodeDeploy's do: they stop what that revision
// started.
//
// Everything lives under the agent's install root: an appspec destination
// /opt/app is ROOT/opt/app, and the agent's own state (the revisions, the
// record of what each deployment installed) is under ROOT/.sluice-agent. An
// agent so needs no privileges beyond its root, and one machine can run
// several.
package deployagent

import (
	"context"
	"encoding/json"

	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/appspec"
	"github.com/sluice-ci/sluice/internal/artifact"
)

// Deployment is one deployment as an agent is handed it.
type Deployment struct {
	ID          string
	Application string
	Group       string // the deployment group's name
	GroupID     string // its id: a name safe in paths, unique to the group
	// Traffic runs the traffic events (the group shifts traffic).
	Traffic bool
}

// EventResult is how one lifecycle event went on this host.
type EventResult struct {
	Event    string        `json:"event"`
	Status   string        `json:"status"` // Succeeded, Failed, Skipped
	Duration time.Duration `json:"duration"`
	// HookTime is how long the event's scripts ran, of Duration.
	HookTime time.Duration `json:"hookTime"`
	Message  string        `json:"message,omitempty"`
	Log      string        `json:"log,omitempty"`
}

// Result is how a deployment went on this host.
type Result struct {
	Succeeded bool          `json:"succeeded"`
	Events    []EventResult `json:"events"`
	Message   string        `json:"message,omitempty"`
}

// Agent deploys revisions under Root.
type Agent struct {
	Root string
	// MaxLog bounds each event's log kept in its result.
	MaxLog int
}

const stateDir = ".sluice-agent"

func (a *Agent) groupDir(d Deployment) string {
	return filepath.Join(a.Root, stateDir, "deployment-groups", d.GroupID)
}

// lastGood is the record of the last deployment that succeeded on a group.
type lastGood struct {
	DeploymentID string `json:"deploymentId"`
}

// Deploy runs deployment d of the revision in bundle (a zip) on this host.
// It returns the events' results; a failed event ends the deployment, and
// the events after it are not run.
func (a *Agent) Deploy(ctx context.Context, d Deployment, bundle string) Result {
	if err := checkID(d.ID); err != nil {
		return Result{Message: err.Error()}
	}
	if err := checkID(d.GroupID); err != nil {
		return Result{Message: err.Error()}
	}
	gdir := a.groupDir(d)
	archive := filepath.Join(gdir, d.ID, "deployment-archive")
	var prev *appspec.Spec
	var prevArchive string
	if lg, err := readLastGood(gdir); err == nil && lg.DeploymentID != d.ID {
		prevArchive = filepath.Join(gdir, lg.DeploymentID, "deployment-archive")
		prev, _, _ = appspec.Find(prevArchive) // a revision that once succeeded
	}
	var spec *appspec.Spec
	var res Result
	for _, event := range appspec.EventsToRun(d.Traffic) {
		start := time.Now()
		er := EventResult{Event: event, Status: "Succeeded"}
		var err error
		var log strings.Builder
		switch event {
		case "DownloadBundle":
			err = a.download(ctx, bundle, archive)
			if err == nil {
				var name string
				spec, name, err = appspec.Find(archive)
				if err == nil && spec.Platform != appspec.Server {
					err = fmt.Errorf("%s is a %s appspec: an agent deploys to servers", name, spec.Platform)
				}
			}
		case "Install":
			err = a.install(d, spec, archive, &log)
		case "BlockTraffic", "AllowTraffic":
			// No load balancer here: the hooks around them are the work.
		default:
			s, dir := spec, archive
			if event == "ApplicationStop" || event == "BeforeBlockTraffic" || event == "AfterBlockTraffic" {
				s, dir = prev, prevArchive
			}
			if s == nil || len(s.Hooks[event]) == 0 {
				er.Status = "Skipped"
				break
			}
			hookStart := time.Now()
			err = a.runHooks(ctx, d, event, s, dir, &log)
			er.HookTime = time.Since(hookStart)
		}
		er.Duration = time.Since(start)
		er.Log = clip(log.String(), a.MaxLog)
		if err != nil {
			er.Status, er.Message = "Failed", err.Error()
			res.Events = append(res.Events, er)
			res.Message = fmt.Sprintf("%s failed: %v", event, err)
			return res
		}
		res.Events = append(res.Events, er)
	}
	if err := writeLastGood(gdir, lastGood{DeploymentID: d.ID}); err != nil {
		res.Message = err.Error()
		return res
	}
	a.prune(gdir, d.ID, prevArchive)
	res.Succeeded = true
	return res
}

// checkID refuses an id that could name a path outside the agent's state.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) || len(id) > 128 {
		return fmt.Errorf("bad deployment or group id %q", id)
	}
	return nil
}

func readLastGood(gdir string) (lastGood, error) {
	var lg lastGood
	data, err := os.ReadFile(filepath.Join(gdir, "last-successful.json"))
	if err != nil {
		return lg, err
	}
	err = json.Unmarshal(data, &lg)
	if err == nil {
		err = checkID(lg.DeploymentID)
	}
	return lg, err
}

func writeLastGood(gdir string, lg lastGood) error {
	data, _ := json.Marshal(lg)
	tmp := filepath.Join(gdir, "last-successful.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(gdir, "last-successful.json"))
}

// prune removes the revisions of the group but this one and the one before,
// as CodeDeploy's agent keeps a few.
func (a *Agent) prune(gdir, keep, prevArchive string) {
	entries, _ := os.ReadDir(gdir)
	for _, e := range entries {
		if !e.IsDir() || e.Name() == keep || filepath.Join(gdir, e.Name(), "deployment-archive") == prevArchive {
			continue
		}
		os.RemoveAll(filepath.Join(gdir, e.Name()))
	}
}

func (a *Agent) download(ctx context.Context, bundle, archive string) error {
	if err := os.RemoveAll(archive); err != nil {
		return err
	}
	if err := os.MkdirAll(archive, 0o755); err != nil {
		return err
	}
	if err := artifact.UnzipFile(ctx, bundle, archive); err != nil {
		return fmt.Errorf("unpack the revision: %w", err)
	}
	return nil
}

// runHooks runs event's scripts of spec, found in dir, one after another.
func (a *Agent) runHooks(ctx context.Context, d Deployment, event string, spec *appspec.Spec, dir string, log io.Writer) error {
	for i, sc := range spec.Hooks[event] {
		if err := a.runScript(ctx, d, event, sc, dir, log); err != nil {
			return fmt.Errorf("script %d (%s): %w", i+1, sc.Location, err)
		}
	}
	return nil
}

func (a *Agent) runScript(ctx context.Context, d Deployment, event string, sc appspec.Script, dir string, log io.Writer) error {
	script := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(strings.ReplaceAll(sc.Location, `\`, "/"), "/")))
	if rel, err := filepath.Rel(dir, script); err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s is outside the revision", sc.Location)
	}
	st, err := os.Lstat(script)
	if err != nil {
		return fmt.Errorf("the revision has no script %s", sc.Location)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", sc.Location)
	}
	if st.Mode()&0o111 == 0 {
		// CodeDeploy's agent makes a script executable before it runs it.
		if err := os.Chmod(script, st.Mode()|0o755); err != nil {
			return err
		}
	}
	timeout := time.Duration(sc.Timeout) * time.Second
	if sc.Timeout == 0 {
		timeout = appspec.MaxTimeout * time.Second
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.Command(script)
	cmd.Dir = dir
	cmd.Env = append(hookEnv(),
		"LIFECYCLE_EVENT="+event,
		"DEPLOYMENT_ID="+d.ID,
		"APPLICATION_NAME="+d.Application,
		"DEPLOYMENT_GROUP_NAME="+d.Group,
		"DEPLOYMENT_GROUP_ID="+d.GroupID,
		"SLUICE_INSTALL_ROOT="+a.Root,
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if sc.RunAs != "" {
		cred, err := credentialOf(sc.RunAs)
		if err != nil {
			return err
		}
		cmd.SysProcAttr.Credential = cred
	}
	// The script's output goes to a file, not a pipe: a script that starts
	// the application in the background (as ApplicationStart's do) ends
	// when it ends, even if the application keeps a descriptor.
	out, err := os.CreateTemp("", "sluice-hook-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(log, "[%s] %s\n", event, sc.Location)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-hctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		err = fmt.Errorf("timed out after %s", timeout)
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped: %w", ctx.Err())
		}
	}
	out.Seek(0, io.SeekStart)
	io.Copy(log, out)
	return err
}

// hookEnv is the agent's environment without sluice's own variables: the
// agent's token (SLUICE_TOKEN) must not reach a revision's scripts.
func hookEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLUICE_") {
			out = append(out, kv)
		}
	}
	return out
}

// credentialOf is who runas names. Running as another user needs the agent
// to run as root; as itself, it needs nothing.
func credentialOf(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("runas %s: %w", name, err)
	}
	if u.Uid == fmt.Sprint(os.Getuid()) {
		return nil, nil
	}
	if os.Getuid() != 0 {
		return nil, fmt.Errorf("runas %s: the agent runs as uid %d and can run scripts as itself only", name, os.Getuid())
	}
	var uid, gid uint32
	fmt.Sscan(u.Uid, &uid)
	fmt.Sscan(u.Gid, &gid)
	return &syscall.Credential{Uid: uid, Gid: gid}, nil
}

func clip(s string, n int) string {
	if n <= 0 {
		n = 64 << 10
	}
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
