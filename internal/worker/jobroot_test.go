package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/wire"
	"golang.org/x/sys/unix"
)

// A worker keeps its job directory for the next job only when the job left
// it empty: a job never sees a file, a directory or a mode an earlier job
// left, and the worker leaves nothing behind when it stops.
func TestJobDirectoryReusedOnlyWhenEmpty(t *testing.T) {
	api := newFakeAPI()
	fake := wire.ActionTypeID{Provider: "Fake"}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: fake}, {ID: "j2", ActionTypeID: fake}, {ID: "j3", ActionTypeID: fake}, {ID: "j4", ActionTypeID: fake}}
	type seen struct {
		dir     string
		entries int
		mode    os.FileMode
	}
	got := make(chan seen, 4)
	n := 0
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{ID: "w1", API: api, WorkRoot: root, LogFlush: time.Hour, Providers: map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		n++
		entries, err := os.ReadDir(j.WorkDir)
		if err != nil {
			return provider.Result{}, err
		}
		fi, err := os.Stat(j.WorkDir)
		if err != nil {
			return provider.Result{}, err
		}
		got <- seen{j.WorkDir, len(entries), fi.Mode().Perm()}
		switch n {
		case 1: // leaves nothing but a changed mode
			return provider.Result{}, os.Chmod(j.WorkDir, 0o777)
		case 2: // leaves a file
			return provider.Result{}, os.WriteFile(filepath.Join(j.WorkDir, "secret"), []byte("x"), 0o644)
		case 3: // leaves a directory beside its workspace
			return provider.Result{}, os.Mkdir(filepath.Join(filepath.Dir(j.WorkDir), "extra"), 0o755)
		}
		return provider.Result{}, nil
	})}}
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var s []seen
	for range 4 {
		waitResult(t, api)
		s = append(s, <-got)
	}
	for i, x := range s {
		if x.entries != 0 || x.mode != 0o755 {
			t.Errorf("job %d saw %d entries in its workspace, mode %v: want an empty one, 0755", i+1, x.entries, x.mode)
		}
	}
	if s[1].dir != s[0].dir {
		t.Errorf("job 2 ran in %s, job 1 in %s: an emptied directory is kept", s[1].dir, s[0].dir)
	}
	cancel()
	<-done
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("the stopped worker left %d entries in its work root", len(left))
	}
}

// An extended attribute a job leaves on its (otherwise empty) workspace is
// a message to the next job: that directory is not kept.
func TestJobDirectoryWithAnAttributeNotReused(t *testing.T) {
	api := newFakeAPI()
	fake := wire.ActionTypeID{Provider: "Fake"}
	api.jobs = []*wire.Job{{ID: "j1", ActionTypeID: fake}, {ID: "j2", ActionTypeID: fake}}
	// What each job found on its workspace, and whether job 1 could leave
	// its note: written by the jobs, read once both have reported.
	var seen [2]string
	var setErr error
	n := 0
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{ID: "w1", API: api, WorkRoot: t.TempDir(), LogFlush: time.Hour, Providers: map[string]provider.Provider{"Fake": provider.Func(func(ctx context.Context, j *provider.Job) (provider.Result, error) {
		note := make([]byte, 16)
		if size, err := unix.Getxattr(j.WorkDir, "user.note", note); err == nil {
			seen[n] = string(note[:size])
		}
		if n == 0 {
			setErr = unix.Setxattr(j.WorkDir, "user.note", []byte("from job 1"), 0)
		}
		n++
		return provider.Result{}, nil
	})}}
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	waitResult(t, api)
	waitResult(t, api)
	cancel()
	<-done
	if setErr != nil {
		t.Skip("no user extended attributes here: ", setErr)
	}
	if n != 2 {
		t.Fatalf("%d jobs ran, want 2", n)
	}
	for i, s := range seen {
		if s != "" {
			t.Errorf("job %d found %q on its workspace", i+1, s)
		}
	}
}
