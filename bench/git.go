package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/wire"
)

// gitEnv keeps the machine's git configuration out of the measurements.
func gitEnv(home string) []string {
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com", "GIT_TERMINAL_PROMPT=0")
}

func git(ctx context.Context, env []string, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// authURL puts the token in a clone URL as the basic-auth password.
func authURL(c *client.Client, base, token, repo string) string {
	return strings.Replace(base, "http://", "http://bench:"+token+"@", 1) + "/git/" + repo + ".git"
}

// benchPush measures, for a pipeline whose source follows a hosted branch, the
// time from `git push` returning to the source action's job being claimed by a
// worker that was already waiting for it.
func benchPush(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 30
	}
	c, base, token, cleanup, err := startServerURL(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := c.CreateRepo(ctx, "app", ""); err != nil {
		return err
	}
	src := "name: app\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n        provider: Git\n" +
		"        configuration: {RepositoryName: app, BranchName: main}\n        outputArtifacts: [code]\n" +
		"  - name: Build\n    actions:\n      - name: b\n        provider: Noop\n        inputArtifacts: [code]\n"
	if err := apply(ctx, c, src); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sluice-bench-push-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := gitEnv(dir)
	work := filepath.Join(dir, "w")
	if err := git(ctx, env, dir, "init", "-q", "-b", "main", work); err != nil {
		return err
	}
	url := authURL(c, base, token, "app")
	gaps, pushes, before, err := pushToClaim(ctx, c, env, work, url, runs)
	if err != nil {
		return err
	}
	fmt.Printf("git push returned -> source job claimed (%d pushes): median %s, p90 %s (claimed before the push returned: %d of %d; git push itself: median %s)\n",
		len(gaps), ms(percentile(gaps, 0.5)), ms(percentile(gaps, 0.9)), before, len(gaps), ms(percentile(pushes, 0.5)))
	return nil
}

// benchGitLarge pushes and clones a repository of 10,000 files and about 200 MB
// of history to sluice over HTTP, and to a local bare repository over the file
// protocol, and compares.
func benchGitLarge(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 5
	}
	dir, err := os.MkdirTemp("", "sluice-bench-large-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := gitEnv(dir)
	src := filepath.Join(dir, "src")
	if err := makeLargeRepo(ctx, env, dir, src); err != nil {
		return err
	}
	c, base, token, cleanup, err := startServerURL(ctx, 0)
	if err != nil {
		return err
	}
	defer cleanup()
	// The reference: git's own http-backend behind Go's CGI handler, nothing else.
	rawRoot := filepath.Join(dir, "raw")
	if err := os.MkdirAll(rawRoot, 0o755); err != nil {
		return err
	}
	raw := httptest.NewServer(&cgi.Handler{Path: "/usr/lib/git-core/git-http-backend", Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + rawRoot, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=bench"}})
	defer raw.Close()
	var sluicePush, filePush, rawPush, sluiceClone, fileClone, rawClone []time.Duration
	// Clones land in memory where the machine has it: what is compared is how
	// fast each server serves, not how fast the disk takes the copy.
	cloneRoot := dir
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if cloneRoot, err = os.MkdirTemp("/dev/shm", "sluice-bench-clones-"); err != nil {
			return err
		}
		defer os.RemoveAll(cloneRoot)
	}
	for i := range runs {
		name := fmt.Sprintf("large%d", i)
		if _, err := c.CreateRepo(ctx, name, ""); err != nil {
			return err
		}
		bare := filepath.Join(dir, name+".git")
		if err := git(ctx, env, dir, "init", "-q", "--bare", bare); err != nil {
			return err
		}
		rawBare := filepath.Join(rawRoot, name+".git")
		if err := git(ctx, env, dir, "init", "-q", "--bare", rawBare); err != nil {
			return err
		}
		if err := git(ctx, env, rawBare, "config", "http.receivepack", "true"); err != nil {
			return err
		}
		rawURL := raw.URL + "/git/" + name + ".git"
		type target struct {
			url string
			out *[]time.Duration
			// Go's CGI handler refuses chunked bodies, which git sends for pushes
			// over 1 MiB; the plain reference gets the pack in one buffer instead.
			args []string
		}
		// The virtual disk here slows down after a few hundred megabytes, so
		// the order of the three rotates from run to run.
		for _, target := range rotate(i, []target{{"file://" + bare, &filePush, nil}, {rawURL, &rawPush, []string{"-c", "http.postBuffer=1073741824"}}, {authURL(c, base, token, name), &sluicePush, nil}}) {
			t0 := time.Now()
			if err := git(ctx, env, src, append(target.args, "push", "-q", target.url, "main")...); err != nil {
				return err
			}
			*target.out = append(*target.out, time.Since(t0))
		}
		for _, from := range rotate(i, []target{{"file://" + bare, &fileClone, nil}, {rawURL, &rawClone, nil}, {authURL(c, base, token, name), &sluiceClone, nil}}) {
			dst := filepath.Join(cloneRoot, fmt.Sprintf("clone-%d-%d", i, len(*from.out)))
			t0 := time.Now()
			if err := git(ctx, env, dir, "clone", "-q", from.url, dst); err != nil {
				return err
			}
			*from.out = append(*from.out, time.Since(t0))
			os.RemoveAll(dst)
		}
	}
	ratio := func(a, b []time.Duration) float64 {
		return float64(percentile(a, 0.5)) / float64(percentile(b, 0.5))
	}
	fmt.Printf("10,000 files, ~200 MB history, median of %d: push to sluice %s, file:// %s (%.2fx), plain git http-backend %s (%.2fx)\n",
		runs, ms(percentile(sluicePush, 0.5)), ms(percentile(filePush, 0.5)), ratio(sluicePush, filePush), ms(percentile(rawPush, 0.5)), ratio(sluicePush, rawPush))
	fmt.Printf("                                              clone from sluice %s, file:// %s (%.2fx), plain git http-backend %s (%.2fx)\n",
		ms(percentile(sluiceClone, 0.5)), ms(percentile(fileClone, 0.5)), ratio(sluiceClone, fileClone), ms(percentile(rawClone, 0.5)), ratio(sluiceClone, rawClone))
	return nil
}

// makeLargeRepo builds a repository with 10,000 small files in its last commit
// and about 200 MB of incompressible history: twenty commits that each rewrite a
// 10 MB file of random bytes.
func makeLargeRepo(ctx context.Context, env []string, dir, src string) error {
	if err := git(ctx, env, dir, "init", "-q", "-b", "main", src); err != nil {
		return err
	}
	blob := make([]byte, 10<<20)
	for i := range 20 {
		if _, err := rand.Read(blob); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, "blob.bin"), blob, 0o644); err != nil {
			return err
		}
		if err := git(ctx, env, src, "add", "blob.bin"); err != nil {
			return err
		}
		if err := git(ctx, env, src, "commit", "-qm", fmt.Sprint("blob ", i)); err != nil {
			return err
		}
	}
	for i := range 10000 {
		d := filepath.Join(src, "files", fmt.Sprintf("%02d", i%100))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d.txt", i)), []byte(fmt.Sprintf("file %d\n", i)), 0o644); err != nil {
			return err
		}
	}
	if err := git(ctx, env, src, "add", "."); err != nil {
		return err
	}
	return git(ctx, env, src, "commit", "-qm", "10,000 files")
}

// rotate starts xs at index i mod len(xs).
func rotate[T any](i int, xs []T) []T {
	k := i % len(xs)
	return append(append([]T{}, xs[k:]...), xs[:k]...)
}

// pushToClaim pushes runs+1 commits of work to url (the first warms up) and
// measures, for each, how long git push took and the time from its return to
// the source job being claimed by a worker already waiting; before counts the
// pushes whose job was claimed before git push returned.
func pushToClaim(ctx context.Context, c *client.Client, env []string, work, url string, runs int) (gaps, pushes []time.Duration, before int, err error) {
	for i := range runs + 1 {
		if err := os.WriteFile(filepath.Join(work, "f.txt"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			return nil, nil, 0, err
		}
		if err := git(ctx, env, work, "add", "."); err != nil {
			return nil, nil, 0, err
		}
		if err := git(ctx, env, work, "commit", "-qm", fmt.Sprint("change ", i)); err != nil {
			return nil, nil, 0, err
		}
		claimed := make(chan time.Time, 1)
		errc := make(chan error, 1)
		go func() {
			j, err := c.ClaimJob(ctx, wire.ClaimRequest{WorkerID: "bench", Providers: []string{"Git"}, WaitSeconds: 10})
			if err == nil && j == nil {
				err = fmt.Errorf("no job within 10 s of the push")
			}
			if err != nil {
				errc <- err
				return
			}
			claimed <- time.Now()
			c.CompleteJob(ctx, j.ID, wire.JobResult{WorkerID: "bench", Message: "benchmark"})
		}()
		started := time.Now()
		if err := git(ctx, env, work, "push", "-q", url, "main"); err != nil {
			return nil, nil, 0, err
		}
		pushed := time.Now()
		if i > 0 {
			pushes = append(pushes, pushed.Sub(started))
		}
		select {
		case err := <-errc:
			return nil, nil, 0, err
		case t := <-claimed:
			if i == 0 {
				continue // the first push also warms up the server
			}
			gap := t.Sub(pushed)
			if gap < 0 {
				before++
				gap = 0
			}
			gaps = append(gaps, gap)
		}
	}
	return gaps, pushes, before, nil
}
